import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { FUZZ_SEED, reportCases } from './fuzz-figures';

let fixture: RefresherFixture;
let cases = 0;
beforeAll(async () => {
  fixture = await RefresherFixture.create();
});
afterAll(async () => {
  await fixture.close();
  reportCases('credentials secret contents (refresher run against moto)', cases);
});

const ACCEPTED = [
  'invalid-credentials-secret',
  'refresh-token-rejected',
  'refresh-token-expired',
  'refreshed',
  'malformed',
];

describe('the refresher on an arbitrary credentials secret', () => {
  it('reports the secret as invalid (or refuses the grant), and leaves it byte for byte as it was', async () => {
    const valid = {
      schemaVersion: 1,
      grant: 'password',
      clientId: 'client-acme',
      clientSecret: 'cs-fuzz',
      refreshToken: 'rt-fuzz',
      refreshTokenIssuedAt: '2026-01-01T00:00:00.000Z',
      refreshTokenLifespanSeconds: 8_640_000,
    };
    const mutated = fc
      .tuple(fc.constantFrom(...Object.keys(valid)), fc.oneof(fc.jsonValue(), fc.constant(undefined)))
      .map(([key, value]) => JSON.stringify({ ...valid, [key]: value }));
    const text = fc
      .oneof(
        mutated,
        fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.constant(JSON.stringify(valid)),
      )
      .filter((t) => t.length > 0);
    const instance = fixture.instance();
    const handler = fixture.handler();
    await fc.assert(
      fc.asyncProperty(text, async (secret) => {
        cases++;
        await fixture.aws.secrets.send(
          new PutSecretValueCommand({ SecretId: instance.config.credentialsSecretId, SecretString: secret }),
        );
        const accessBefore = await fixture.rawSecret(instance.config.accessTokenSecretId);

        const response = await handler({ action: 'refresh', force: true });

        expect(ACCEPTED).toContain(response.results[0]?.outcome);
        expect(await fixture.rawSecret(instance.config.credentialsSecretId)).toBe(secret);
        expect(await fixture.rawSecret(instance.config.accessTokenSecretId)).toBe(accessBefore);
        // The problem is described by field names, never by the values in the secret.
        expect(response.results[0]?.detail ?? '').not.toContain('cs-fuzz');
      }),
      { numRuns: 80, seed: FUZZ_SEED },
    );
    expect(fixture.logs.text()).not.toContain('cs-fuzz');
  }, 120_000);
});
