import { expect, it } from 'vitest';
import type { SecretStore } from '../../../../lambda/shared/secrets/secret-store';

export interface SecretStoreUnderTest {
  readonly store: SecretStore;
  /** Creates a secret without a value, as the construct does, and returns its id. */
  createEmpty(name: string): Promise<string>;
  /** An id no secret has (within this test's namespace). */
  unknownId(name: string): string;
}

/**
 * What every SecretStore promises the writers and readers of the two secrets: run against the
 * in-memory store in the unit tier and against Secrets Manager in the integration tier.
 */
export function secretStoreContract(create: () => Promise<SecretStoreUnderTest>): void {
  it('reads a secret that does not exist, or exists without a value, as missing', async () => {
    const subject = await create();
    const empty = await subject.createEmpty('acme/credentials');

    expect(await subject.store.read(subject.unknownId('acme/nothing'))).toEqual({ kind: 'missing' });
    expect(await subject.store.read(empty)).toEqual({ kind: 'missing' });
  });

  it('stores a value as JSON text, and a second write replaces it', async () => {
    const subject = await create();
    const id = await subject.createEmpty('acme/access-token');

    await subject.store.write(id, { accessToken: 'first', schemaVersion: 1 });
    await subject.store.write(id, { accessToken: 'second', schemaVersion: 1 });

    const read = await subject.store.read(id);
    expect(read).toEqual({
      kind: 'value',
      text: JSON.stringify({ accessToken: 'second', schemaVersion: 1 }),
    });
  });

  it('refuses a write to a secret that does not exist, as Secrets Manager does', async () => {
    const subject = await create();

    await expect(subject.store.write(subject.unknownId('acme/nothing'), { a: 1 })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('creates a secret on its first write-creating, and writes it the next time', async () => {
    const subject = await create();
    const id = subject.unknownId('acme/consumer-exalate');

    await subject.store.writeCreating(id, { refreshToken: 'one' }, 'a watched token');
    await subject.store.writeCreating(id, { refreshToken: 'two' }, 'a watched token');

    expect(await subject.store.read(id)).toEqual({ kind: 'value', text: '{"refreshToken":"two"}' });
    await subject.store.remove(id);
  });

  it('removes a secret at once, and removing it again is no error', async () => {
    const subject = await create();
    const id = subject.unknownId('acme/consumer-other');
    await subject.store.writeCreating(id, { refreshToken: 'gone soon' }, 'a watched token');

    await subject.store.remove(id);
    await subject.store.remove(id);

    expect(await subject.store.read(id)).toEqual({ kind: 'missing' });
  });
}
