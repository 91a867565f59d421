import type { Clock } from '../clock';
import { credentialsMirror } from '../credentials-grant';
import { ACCESS_TOKEN_LIFESPAN_SECONDS } from '../deployment-contract';
import type { InstanceConfig } from '../instance-config';
import { type AccessTokenSecret, accessTokenSecretSchema } from '../secrets/access-token-secret';
import { type CredentialsSecret, parseSecretJson } from '../secrets/credentials-secret';
import type { SecretStore } from '../secrets/secret-store';
import { MAX_CLOCK_SKEW_MS } from './aws-clock';
import { fingerprint, type InstanceState, type StatePatch } from './instance-state';
import type { StateStore } from './state-store';

/**
 * The write-ahead refresh, shared by every writer (the refresher, a probe-triggered refresh, the
 * CLI's bootstrap and renew). Modelled on the Secrets Manager rotation protocol (create, set, test,
 * finish; each step idempotent, a pending version until the last step), fitted to what we hold:
 *
 *   lease (fenced by its epoch) -> mark grant open -> grant -> new refresh token into the credentials
 *   secret -> intent in the state -> access-token secret -> commit (intent closed, lease released)
 *
 * Any writer that finds an open intent finishes it from what the access-token secret holds, and the
 * intent's fingerprint and expiry stay behind, so a token ServiceNow hands back later is never
 * stored with a longer life than the one first recorded. See docs/reliability.md.
 */
export interface WriteAheadDeps {
  readonly clock: Clock;
  readonly secrets: Pick<SecretStore, 'read' | 'write'>;
  readonly state: Pick<StateStore, 'commit' | 'checkClock'>;
}

/** One writer's hold on one instance. */
export interface HeldLease {
  readonly instance: InstanceConfig;
  readonly owner: string;
  /** The fencing token: the state's `leaseEpoch` when this writer acquired the lease. */
  readonly epoch: number;
  /** By this writer's clock, the last moment it may start a write. */
  readonly writeUntil: number;
}

/** A writer ran out of lease (or was about to): it wrote nothing more. */
export class LeaseTooShortError extends Error {
  constructor(instance: string, what: string) {
    super(`stopped before ${what} on ${instance}: the lease was about to lapse (nothing more was written)`);
    this.name = 'LeaseTooShortError';
  }
}

/**
 * ServiceNow issued a new refresh token (the old one may be revoked already) and the credentials
 * secret could not be written, retries included. The refresher keeps it (sealed in the state) and
 * stores it on its next runs; a person acts only if that keeps failing.
 */
export class RefreshTokenNotStoredError extends Error {
  constructor(instance: string, failure: unknown) {
    super(
      `ServiceNow issued a new refresh token for ${instance} but the credentials secret could not be written (${(failure as Error)?.name ?? 'error'}); it is kept, sealed, in the state table and the refresher stores it as soon as Secrets Manager takes it. If this alert does not resolve within minutes, check the refresher's secretsmanager:PutSecretValue permission and the secret's KMS key; if the refresh token is then rejected, run "snow-token renew ${instance}"`,
    );
    this.name = 'RefreshTokenNotStoredError';
  }
}

/**
 * A writer stops writing this long before its lease ends (by its own clock): more than twice the
 * allowed clock skew plus the Date header's one-second resolution, so no two writers ever overlap.
 */
export const LEASE_SAFETY_MS = 2 * MAX_CLOCK_SKEW_MS + 5_000;

/**
 * The longest life stored for an access token of `instance`: its configured lifespan, and without
 * one the longest any instance may configure (a day).
 */
export function maxAccessTokenLifespanSeconds(instance: InstanceConfig): number {
  return instance.accessTokenLifespanSeconds ?? ACCESS_TOKEN_LIFESPAN_SECONDS.max;
}

export function ensureLeaseRoom(clock: Clock, hold: HeldLease, what: string, neededMs = 0): void {
  if (clock.now() + neededMs > hold.writeUntil) throw new LeaseTooShortError(hold.instance.name, what);
}

export function accessTokenSecretFor(
  instance: InstanceConfig,
  accessToken: string,
  expiresAt: number,
  refreshedAt: number,
): AccessTokenSecret {
  return {
    schemaVersion: 1,
    instanceUrl: new URL(instance.url).origin,
    accessToken,
    tokenType: 'Bearer',
    expiresAt: new Date(expiresAt).toISOString(),
    refreshedAt: new Date(refreshedAt).toISOString(),
  };
}

/** Retries for the credentials write beyond the SDK's own: long enough to outlast throttling. */
const CREDENTIALS_WRITE_ATTEMPTS = 5;

/**
 * Writes credentials that hold a refresh token ServiceNow just issued, retrying (within the lease)
 * until a throttling burst has passed. Throws RefreshTokenNotStoredError if it still fails.
 */
export async function persistCredentials(
  deps: WriteAheadDeps,
  hold: HeldLease,
  credentials: CredentialsSecret,
): Promise<void> {
  deps.state.checkClock(hold.instance.name);
  let lastError: unknown;
  for (let attempt = 1; attempt <= CREDENTIALS_WRITE_ATTEMPTS; attempt++) {
    try {
      await deps.secrets.write(hold.instance.credentialsSecretId, credentials);
      return;
    } catch (error) {
      lastError = error;
      const delay = 1000 * 2 ** (attempt - 1);
      if (attempt === CREDENTIALS_WRITE_ATTEMPTS || deps.clock.now() + delay >= hold.writeUntil) break;
      await deps.clock.sleep(delay);
    }
  }
  throw new RefreshTokenNotStoredError(hold.instance.name, lastError);
}

export interface TokenToStore {
  readonly accessToken: string;
  /** Never later than ServiceNow's: the caller has capped it. */
  readonly expiresAt: number;
  readonly refreshedAt: number;
  readonly lifespanSeconds: number;
  readonly credentials: CredentialsSecret;
  /** Other fields for the final commit (outcome, health). */
  readonly patch: StatePatch;
}

/**
 * Intent, access-token secret, commit: the part of a refresh after the grant. The credentials (if
 * they changed) must already be persisted. Returns the state as the final commit left it.
 */
export async function storeAccessToken(
  deps: WriteAheadDeps,
  hold: HeldLease,
  token: TokenToStore,
): Promise<InstanceState> {
  const { clock, secrets, state } = deps;
  const name = hold.instance.name;
  const tokenFingerprint = fingerprint(token.accessToken);
  ensureLeaseRoom(clock, hold, 'recording the intent');
  await state.commit(
    name,
    hold.owner,
    {
      intentFingerprint: tokenFingerprint,
      intentExpiresAt: token.expiresAt,
      intentLifespanSeconds: token.lifespanSeconds,
      intentRefreshTokenFingerprint:
        token.credentials.grant === 'password' ? fingerprint(token.credentials.refreshToken) : null,
      intentOpenSince: clock.now(),
      grantOpenSince: null,
    },
    { release: false, epoch: hold.epoch },
  );
  ensureLeaseRoom(clock, hold, 'writing the access-token secret');
  state.checkClock(name);
  await secrets.write(
    hold.instance.accessTokenSecretId,
    accessTokenSecretFor(hold.instance, token.accessToken, token.expiresAt, token.refreshedAt),
  );
  return state.commit(
    name,
    hold.owner,
    {
      ...credentialsMirror(token.credentials),
      ...token.patch,
      accessTokenExpiresAt: token.expiresAt,
      accessTokenFingerprint: tokenFingerprint,
      accessTokenRefreshedAt: token.refreshedAt,
      accessTokenLifespanSeconds: token.lifespanSeconds,
      intentOpenSince: null,
    },
    { release: true, epoch: hold.epoch },
  );
}

export type IntentResolution = 'completed' | 'discarded';

/**
 * Finishes an intent a writer left open (it failed or lost its lease between the intent and the
 * commit). The access-token secret is the truth: if it holds the intended token, the state takes it
 * (never with a later expiry than intended, rewriting the secret if it claims more); if not, the
 * secret write never landed and the intent is dropped, its fingerprint and expiry kept as the cap
 * for that token. Keeps the lease.
 */
export async function resolveOpenIntent(
  deps: WriteAheadDeps,
  hold: HeldLease,
  current: InstanceState,
): Promise<{ readonly state: InstanceState; readonly resolution: IntentResolution }> {
  const { clock, secrets, state } = deps;
  const read = await secrets.read(hold.instance.accessTokenSecretId);
  const parsed = read.kind === 'value' ? parseSecretJson(accessTokenSecretSchema, read.text) : undefined;
  const secret = parsed?.kind === 'ok' ? parsed.value : undefined;
  const intended =
    secret !== undefined &&
    current.intentFingerprint !== undefined &&
    fingerprint(secret.accessToken) === current.intentFingerprint;
  let patch: StatePatch = { intentOpenSince: null };
  if (secret && intended) {
    const secretExpiry = Date.parse(secret.expiresAt);
    const expiresAt = Math.min(secretExpiry, current.intentExpiresAt ?? secretExpiry);
    if (expiresAt < secretExpiry - 1) {
      ensureLeaseRoom(clock, hold, 'correcting the access-token secret');
      state.checkClock(hold.instance.name);
      await secrets.write(
        hold.instance.accessTokenSecretId,
        accessTokenSecretFor(hold.instance, secret.accessToken, expiresAt, Date.parse(secret.refreshedAt)),
      );
    }
    patch = {
      ...patch,
      accessTokenFingerprint: current.intentFingerprint,
      accessTokenExpiresAt: expiresAt,
      accessTokenRefreshedAt: Date.parse(secret.refreshedAt),
      ...(current.intentLifespanSeconds !== undefined && {
        accessTokenLifespanSeconds: current.intentLifespanSeconds,
      }),
    };
  } else if (secret && fingerprint(secret.accessToken) !== current.accessTokenFingerprint) {
    // Neither the intended token nor the recorded one: mirror what readers actually see.
    patch = {
      ...patch,
      accessTokenFingerprint: fingerprint(secret.accessToken),
      accessTokenExpiresAt: Math.min(
        Date.parse(secret.expiresAt),
        current.accessTokenExpiresAt ?? Number.POSITIVE_INFINITY,
      ),
    };
  }
  ensureLeaseRoom(clock, hold, 'finishing the open intent');
  const next = await state.commit(hold.instance.name, hold.owner, patch, {
    release: false,
    epoch: hold.epoch,
  });
  return { state: next, resolution: intended ? 'completed' : 'discarded' };
}

/**
 * The expiry to record for a token ServiceNow just returned: its claim, capped by the configured
 * lifespan, by what was first recorded for the same token (stored or intended), and, for a token we
 * have never seen while an earlier grant's answer went unrecorded, by that grant's time.
 */
export function cappedExpiry(
  token: {
    readonly accessToken: string;
    readonly sentAt: number;
    readonly expiresInSeconds: number;
  },
  state: InstanceState,
  maxLifespanSeconds: number,
): {
  readonly expiresAt: number;
  readonly known: 'stored' | 'intended' | undefined;
  readonly capped: boolean;
} {
  const seconds = Math.min(token.expiresInSeconds, maxLifespanSeconds);
  const claimed = token.sentAt + seconds * 1000;
  const tokenFingerprint = fingerprint(token.accessToken);
  if (tokenFingerprint === state.accessTokenFingerprint && state.accessTokenExpiresAt !== undefined) {
    return { expiresAt: Math.min(claimed, state.accessTokenExpiresAt), known: 'stored', capped: false };
  }
  if (tokenFingerprint === state.intentFingerprint && state.intentExpiresAt !== undefined) {
    return { expiresAt: Math.min(claimed, state.intentExpiresAt), known: 'intended', capped: false };
  }
  const unrecorded = state.grantOpenSince;
  if (unrecorded !== undefined && unrecorded + maxLifespanSeconds * 1000 > token.sentAt) {
    // This may be the token that grant issued, handed back with a fresh lifespan.
    const bound = unrecorded + seconds * 1000;
    if (bound < claimed) return { expiresAt: bound, known: undefined, capped: true };
  }
  return { expiresAt: claimed, known: undefined, capped: seconds < token.expiresInSeconds };
}
