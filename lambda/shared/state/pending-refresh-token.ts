import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { CredentialsSecret, PasswordCredentials } from '../secrets/credentials-secret';
import { fingerprint, type StatePatch } from './instance-state';

/**
 * A rotated refresh token the credentials secret could not take, kept in the state table so that any
 * writer (another execution environment, a cold start, the CLI) stores it later instead of spending
 * the token it replaced. On an instance or proxy that revokes the old token on rotation, this is the
 * only copy.
 *
 * The state table never holds a usable secret: the token is sealed (AES-256-GCM) with a key derived
 * (HKDF-SHA-256) from the client secret, which only the credentials secret holds, and bound to the
 * instance and to the token it replaces. Whoever can read the table but not the credentials secret
 * learns nothing; whoever can read the credentials secret could use the client secret anyway. It is
 * removed by the next commit that mirrors the credentials (see `credentialsMirror`).
 */
export interface PendingRefreshToken {
  readonly refreshToken: string;
  readonly refreshTokenIssuedAt: string;
}

const INFO = 'snow-token pending refresh token v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyFor(instance: string, clientSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', clientSecret, instance, INFO, 32));
}

function additionalData(instance: string, replacesFingerprint: string): Buffer {
  return Buffer.from(`${instance}\n${replacesFingerprint}`);
}

/**
 * The state fields that keep `rotated` (credentials ServiceNow just rotated into) until the secret
 * takes it. `replaces` is the refresh token the credentials secret still holds.
 */
export function sealPendingRefreshToken(
  instance: string,
  replaces: string,
  rotated: PasswordCredentials,
): StatePatch {
  const replacesFingerprint = fingerprint(replaces);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(instance, rotated.clientSecret), iv);
  cipher.setAAD(additionalData(instance, replacesFingerprint));
  const payload: PendingRefreshToken = {
    refreshToken: rotated.refreshToken,
    refreshTokenIssuedAt: rotated.refreshTokenIssuedAt,
  };
  const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return {
    pendingRefreshToken: Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url'),
    pendingRefreshTokenReplaces: replacesFingerprint,
  };
}

export type OpenedPendingRefreshToken =
  /** The secret still holds the token this one replaced: store `credentials`. */
  | { readonly kind: 'store'; readonly credentials: PasswordCredentials }
  /** Someone stored a newer refresh token since (a renewal): nothing to do but forget it. */
  | { readonly kind: 'superseded' }
  /** It cannot be opened (the client secret changed, or the field was altered): it is lost. */
  | { readonly kind: 'unreadable' };

/** What to do with a pending refresh token, given the credentials secret as it is now. */
export function openPendingRefreshToken(
  instance: string,
  pending: { readonly sealed: string; readonly replacesFingerprint: string },
  credentials: CredentialsSecret,
): OpenedPendingRefreshToken {
  if (
    credentials.grant !== 'password' ||
    fingerprint(credentials.refreshToken) !== pending.replacesFingerprint
  ) {
    return { kind: 'superseded' };
  }
  try {
    const raw = Buffer.from(pending.sealed, 'base64url');
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', keyFor(instance, credentials.clientSecret), iv);
    decipher.setAAD(additionalData(instance, pending.replacesFingerprint));
    decipher.setAuthTag(tag);
    const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    const payload = JSON.parse(text.toString('utf8')) as Partial<PendingRefreshToken>;
    if (
      typeof payload.refreshToken !== 'string' ||
      payload.refreshToken === '' ||
      typeof payload.refreshTokenIssuedAt !== 'string' ||
      Number.isNaN(Date.parse(payload.refreshTokenIssuedAt))
    ) {
      return { kind: 'unreadable' };
    }
    return {
      kind: 'store',
      credentials: {
        ...credentials,
        refreshToken: payload.refreshToken,
        refreshTokenIssuedAt: payload.refreshTokenIssuedAt,
      },
    };
  } catch {
    return { kind: 'unreadable' };
  }
}

/** Forgets a pending refresh token: the credentials secret holds it, or a newer one. */
export const NO_PENDING_REFRESH_TOKEN: StatePatch = {
  pendingRefreshToken: null,
  pendingRefreshTokenReplaces: null,
};
