import type { SecretRead, SecretStore } from '../../lambda/shared/secrets/secret-store';

/** What Secrets Manager throws for a secret that does not exist. */
function notFound(secretId: string): Error {
  return Object.assign(new Error(`Secrets Manager can't find the specified secret: ${secretId}`), {
    name: 'ResourceNotFoundException',
  });
}

/**
 * Secrets in memory, keeping SecretsManagerSecretStore's promises (the contract suite in
 * test/lambda/shared/secrets checks both): a secret exists before it has a value, a write to one
 * that does not exist fails as Secrets Manager's does, and values are stored as JSON text.
 */
export class InMemorySecretStore implements SecretStore {
  private readonly secrets = new Map<string, string | undefined>();

  /** Creates a secret without a value, as the construct does; returns its id. */
  create(secretId: string): string {
    if (!this.secrets.has(secretId)) this.secrets.set(secretId, undefined);
    return secretId;
  }

  async read(secretId: string): Promise<SecretRead> {
    const text = this.secrets.get(secretId);
    return text === undefined ? { kind: 'missing' } : { kind: 'value', text };
  }

  async write(secretId: string, value: unknown): Promise<void> {
    if (!this.secrets.has(secretId)) throw notFound(secretId);
    this.secrets.set(secretId, JSON.stringify(value));
  }

  async writeCreating(secretId: string, value: unknown, _description: string): Promise<void> {
    this.secrets.set(secretId, JSON.stringify(value));
  }

  async remove(secretId: string): Promise<void> {
    this.secrets.delete(secretId);
  }
}
