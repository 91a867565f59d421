import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

export type SecretsClient = Pick<SecretsManagerClient, 'send'>;

export type SecretRead =
  | { readonly kind: 'value'; readonly text: string }
  /** The secret does not exist, or exists with no value yet (created, not bootstrapped). */
  | { readonly kind: 'missing' };

/**
 * JSON secrets by id. SecretsManagerSecretStore is the deployed one; the unit tests use an in-memory
 * one that keeps the same promises (harness/in-memory-stores), checked by one contract suite
 * against both.
 */
export interface SecretStore {
  /** The secret's text, or "missing" when it does not exist or has no value yet. */
  read(secretId: string): Promise<SecretRead>;
  /** Stores `value` as JSON as the secret's new current value; throws if the secret does not exist. */
  write(secretId: string, value: unknown): Promise<void>;
  /** Like write, but creates the secret (with this description) the first time. */
  writeCreating(secretId: string, value: unknown, description: string): Promise<void>;
  /** Deletes the secret at once (no recovery window); a no-op if it does not exist. */
  remove(secretId: string): Promise<void>;
}

/** Secrets Manager. AWS errors other than "not found" propagate: they are retried. */
export class SecretsManagerSecretStore implements SecretStore {
  constructor(private readonly client: SecretsClient) {}

  async read(secretId: string): Promise<SecretRead> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return out.SecretString === undefined ? { kind: 'missing' } : { kind: 'value', text: out.SecretString };
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return { kind: 'missing' };
      throw error;
    }
  }

  async write(secretId: string, value: unknown): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) }),
    );
  }

  /** For secrets the CLI makes at runtime (a watched tool's token). */
  async writeCreating(secretId: string, value: unknown, description: string): Promise<void> {
    try {
      await this.write(secretId, value);
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
      await this.client.send(
        new CreateSecretCommand({
          Name: secretId,
          Description: description,
          SecretString: JSON.stringify(value),
        }),
      );
    }
  }

  /** For values that must not outlive their use. */
  async remove(secretId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    }
  }
}
