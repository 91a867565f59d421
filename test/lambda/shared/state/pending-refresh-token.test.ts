import { describe, expect, it } from 'vitest';
import type { CredentialsSecret } from '../../../../lambda/shared/secrets/credentials-secret';
import { fingerprint } from '../../../../lambda/shared/state/instance-state';
import {
  openPendingRefreshToken,
  sealPendingRefreshToken,
} from '../../../../lambda/shared/state/pending-refresh-token';

type PasswordCredentials = Extract<CredentialsSecret, { grant: 'password' }>;

const stored: PasswordCredentials = {
  schemaVersion: 1,
  grant: 'password',
  clientId: 'client-id',
  clientSecret: 'client-secret-from-the-registry',
  refreshToken: 'refresh-token-old',
  refreshTokenIssuedAt: '2026-08-01T00:00:00.000Z',
  refreshTokenLifespanSeconds: 8_640_000,
};
const rotated: PasswordCredentials = {
  ...stored,
  refreshToken: 'refresh-token-rotated',
  refreshTokenIssuedAt: '2026-09-01T00:00:00.000Z',
};

function sealed(instance = 'acme') {
  const patch = sealPendingRefreshToken(instance, stored.refreshToken, rotated);
  return {
    sealed: patch.pendingRefreshToken as string,
    replacesFingerprint: patch.pendingRefreshTokenReplaces as string,
  };
}

describe('a rotated refresh token kept in the state table', () => {
  it('holds neither token in the clear, only the fingerprint of the one it replaces', () => {
    const pending = sealed();
    expect(pending.replacesFingerprint).toBe(fingerprint(stored.refreshToken));
    expect(JSON.stringify(pending)).not.toContain('refresh-token-');
    expect(JSON.stringify(pending)).not.toContain(stored.clientSecret);
    // A fresh nonce each time: two seals of the same token differ.
    expect(sealed().sealed).not.toBe(pending.sealed);
  });

  it('opens with the credentials secret that still holds the token it replaced', () => {
    expect(openPendingRefreshToken('acme', sealed(), stored)).toEqual({
      kind: 'store',
      credentials: rotated,
    });
  });

  it('is superseded once the secret holds another refresh token (an operator renewed)', () => {
    const renewed = { ...stored, refreshToken: 'refresh-token-renewed' };
    expect(openPendingRefreshToken('acme', sealed(), renewed)).toEqual({ kind: 'superseded' });
    const client: CredentialsSecret = {
      schemaVersion: 1,
      grant: 'client_credentials',
      clientId: 'c',
      clientSecret: 's',
    };
    expect(openPendingRefreshToken('acme', sealed(), client)).toEqual({ kind: 'superseded' });
  });

  it('cannot be opened with another client secret, for another instance, or once altered', () => {
    expect(openPendingRefreshToken('acme', sealed(), { ...stored, clientSecret: 'changed' }).kind).toBe(
      'unreadable',
    );
    expect(openPendingRefreshToken('globex', sealed('acme'), stored).kind).toBe('unreadable');
    const pending = sealed();
    const bytes = Buffer.from(pending.sealed, 'base64url');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(
      openPendingRefreshToken('acme', { ...pending, sealed: bytes.toString('base64url') }, stored).kind,
    ).toBe('unreadable');
    expect(openPendingRefreshToken('acme', { ...pending, sealed: 'not-base64!' }, stored).kind).toBe(
      'unreadable',
    );
  });
});
