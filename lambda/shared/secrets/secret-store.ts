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

/** Reads and writes JSON secrets. AWS errors other than "not found" propagate: they are retried. */
export class SecretStore {
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

  /** Writes a secret the CLI makes at runtime (a watched tool's token), creating it the first time. */
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

  /** Deletes a secret at once (no recovery window): for values that must not outlive their use. */
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
