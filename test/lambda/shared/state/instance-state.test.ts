import { describe, expect, it } from 'vitest';
import { readInstanceState } from '../../../../lambda/shared/state/instance-state';

describe('a state table item read back', () => {
  it('keeps the closed-set fields whose values this version knows, and every other field', () => {
    const item = {
      instance: 'acme',
      version: 7,
      grant: 'jwt_bearer',
      lastOutcome: 'bootstrapped',
      lastProbeVerdict: 'ok-after-refresh',
      accessTokenExpiresAt: 1_700_000_000_000,
    };
    expect(readInstanceState(item)).toStrictEqual(item);
  });

  it('reads a closed-set value it does not know as absent, rather than failing the read', () => {
    const state = readInstanceState({
      instance: 'acme',
      version: 7,
      grant: 'saml_bearer',
      lastOutcome: 'refreshed-by-a-newer-version',
      lastProbeVerdict: 42,
      accessTokenExpiresAt: 1_700_000_000_000,
    });
    expect(state).toStrictEqual({ instance: 'acme', version: 7, accessTokenExpiresAt: 1_700_000_000_000 });
  });
});
