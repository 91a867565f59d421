import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import type { CredentialsSecret, PasswordCredentials } from '../secrets/credentials-secret';
import { fingerprint, type StatePatch } from './instance-state';

/**
 * A rotated refresh token the credentials secret could not take, kept in the state table so that any
 * writer (another execution environment, a cold start, the CLI) stores it later instead of spending
 * the token it replaced. On an instance or proxy that revokes the old token on rotation, this is the
 * only copy.
 *
 * The state table never holds a usable secret: the token is sealed (AES-256-GCM) with a key derived
 * from the client secret, which only the credentials secret holds, by scrypt (a memory-hard KDF, so
 * a guessable client secret costs a reader of the table real work per guess) with a random salt,
 * and bound to the instance and to the token it replaces. Whoever can read the credentials secret
 * could use the client secret anyway. It is removed by the next commit that mirrors the credentials
 * (see `credentialsMirror`).
 */
export interface PendingRefreshToken {
  readonly refreshToken: string;
  readonly refreshTokenIssuedAt: string;
}

const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** scrypt's cost: 2^15 x 8 x 128 bytes = 32 MiB and tens of milliseconds, on the failure path only. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

function keyFor(clientSecret: string, salt: Buffer): Buffer {
  return scryptSync(clientSecret, salt, 32, SCRYPT);
}

function additionalData(instance: string, replacesFingerprint: string): Buffer {
  return Buffer.from(`snow-token pending refresh token v1\n${instance}\n${replacesFingerprint}`);
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
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(rotated.clientSecret, salt), iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(additionalData(instance, replacesFingerprint));
  const payload: PendingRefreshToken = {
    refreshToken: rotated.refreshToken,
    refreshTokenIssuedAt: rotated.refreshTokenIssuedAt,
  };
  const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return {
    pendingRefreshToken: Buffer.concat([salt, iv, cipher.getAuthTag(), sealed]).toString('base64url'),
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
    const head = SALT_BYTES + IV_BYTES + TAG_BYTES;
    if (raw.length <= head) return { kind: 'unreadable' };
    const salt = raw.subarray(0, SALT_BYTES);
    const iv = raw.subarray(SALT_BYTES, SALT_BYTES + IV_BYTES);
    const tag = raw.subarray(SALT_BYTES + IV_BYTES, head);
    const decipher = createDecipheriv('aes-256-gcm', keyFor(credentials.clientSecret, salt), iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(additionalData(instance, pending.replacesFingerprint));
    decipher.setAuthTag(tag);
    const text = Buffer.concat([decipher.update(raw.subarray(head)), decipher.final()]);
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
