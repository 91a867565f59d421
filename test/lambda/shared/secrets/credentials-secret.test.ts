import { describe, expect, it } from 'vitest';
import { credentialsMirror } from '../../../../lambda/shared/credentials-grant';
import {
  type CredentialsSecret,
  type PasswordCredentials,
  refreshTokenExpiresAt,
} from '../../../../lambda/shared/secrets/credentials-secret';
import type { InstanceState } from '../../../../lambda/shared/state/instance-state';

const DAY = 86_400_000;
const password: PasswordCredentials = {
  schemaVersion: 1,
  grant: 'password',
  clientId: 'client',
  clientSecret: 'secret',
  refreshToken: 'refresh-token',
  refreshTokenIssuedAt: '2026-01-05T09:00:00.000Z',
  refreshTokenLifespanSeconds: 8_640_000,
};

describe('the refresh token end', () => {
  it('is a fixed lifespan after the password grant that issued the refresh token', () => {
    expect(refreshTokenExpiresAt(password)).toBe(Date.parse('2026-01-05T09:00:00.000Z') + 100 * DAY);
  });

  it('reads the same from the state table as from the credentials secret it mirrors', () => {
    const state = { instance: 'acme', version: 1, ...credentialsMirror(password) } as InstanceState;
    expect(refreshTokenExpiresAt(state)).toBe(refreshTokenExpiresAt(password));
  });

  it('does not exist in client credentials', () => {
    const credentials: CredentialsSecret = {
      schemaVersion: 1,
      grant: 'client_credentials',
      clientId: 'client',
      clientSecret: 'secret',
    };
    expect(refreshTokenExpiresAt(credentials)).toBeUndefined();
  });

  it.each(['client_credentials', 'jwt_bearer'] as const)(
    'does not exist on the %s grant, whatever stale refresh-token fields the state holds',
    (grant) => {
      const stale = { grant, refreshTokenIssuedAt: Date.now(), refreshTokenLifespanSeconds: 8_640_000 };
      expect(refreshTokenExpiresAt(stale)).toBeUndefined();
    },
  );

  it('is unknown while the state records no grant, or no issue time', () => {
    expect(refreshTokenExpiresAt(undefined)).toBeUndefined();
    expect(
      refreshTokenExpiresAt({ refreshTokenIssuedAt: 0, refreshTokenLifespanSeconds: 1 }),
    ).toBeUndefined();
    expect(refreshTokenExpiresAt({ grant: 'password', refreshTokenLifespanSeconds: 1 })).toBeUndefined();
  });
});
