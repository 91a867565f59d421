import type { Alerts } from './alerts/alerts';
import type { Clock } from './clock';
import { explainRejection, tokenGrantFor } from './credentials-grant';
import type { InstanceConfig } from './instance-config';
import {
  type CredentialsSecret,
  DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS,
  type PasswordCredentials,
  refreshTokenExpiresAt,
} from './secrets/credentials-secret';
import type { SecretStore } from './secrets/secret-store';
import { describeOutcome, type FailedOutcome } from './servicenow/outcome';
import type { ServiceNowClient, TokenGrantResult } from './servicenow/servicenow-client';
import type { InstanceState } from './state/instance-state';
import { LeaseLostError, type StateStore } from './state/state-store';
import {
  cappedExpiry,
  ensureLeaseRoom,
  type HeldLease,
  LEASE_SAFETY_MS,
  maxAccessTokenLifespanSeconds,
  persistCredentials,
  resolveOpenIntent,
  storeAccessToken,
} from './state/write-ahead';

export interface PasswordBootstrapInput {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  /** Used for one grant and dropped: never stored, logged or returned. */
  readonly password: string;
  readonly refreshTokenLifespanSeconds?: number;
}

/** A bootstrap that stored nothing: the lease was held, the token was refused, or the grant failed. */
export type BootstrapNotDone =
  | { readonly kind: 'busy' }
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'failed'; readonly outcome: FailedOutcome; readonly message: string };

export type PasswordBootstrapResult =
  | {
      readonly kind: 'ok';
      /** Password grant only: when the new refresh token dies. */
      readonly refreshTokenExpiresAt: number;
      readonly accessTokenExpiresAt: number;
      readonly state: InstanceState;
    }
  | BootstrapNotDone;

/**
 * Runs a password grant and stores what it returns, under the same lease the refresher takes, so
 * a renewal racing a scheduled refresh loses nothing. The password grant is also the only thing
 * that restarts the refresh token's lifespan, so the issue time is recorded here and nowhere else.
 * Nothing is written unless the grant succeeds.
 */
export interface BootstrapDeps {
  readonly clock: Clock;
  readonly secrets: SecretStore;
  readonly state: StateStore;
  readonly client: Pick<ServiceNowClient, 'requestToken'>;
  readonly owner: string;
  readonly leaseMs?: number;
  /** When given, the incidents a renewal fixes are closed (with their recovery emails) at once. */
  readonly alerts?: Alerts;
  /**
   * Called with the new access token before anything is written (the CLI probes with it); a
   * refusal leaves the stored credentials exactly as they were.
   */
  readonly verify?: (
    accessToken: string,
  ) => Promise<{ readonly ok: true } | { readonly ok: false; readonly message: string }>;
}

export type BootstrapResult =
  | {
      readonly kind: 'ok';
      readonly credentials: CredentialsSecret;
      readonly accessTokenExpiresAt: number;
      readonly state: InstanceState;
    }
  | BootstrapNotDone;

/**
 * Runs a password grant and stores what it returns, under the same lease the refresher takes, so
 * a renewal racing a scheduled refresh loses nothing. The password grant is also the only thing
 * that restarts the refresh token's lifespan, so the issue time is recorded here and nowhere else.
 * Nothing is written unless the grant succeeds.
 */
export async function bootstrapWithPassword(
  deps: BootstrapDeps,
  instance: InstanceConfig,
  input: PasswordBootstrapInput,
): Promise<PasswordBootstrapResult> {
  const lifespan = input.refreshTokenLifespanSeconds ?? DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS;
  const result = await storeUnderLease(deps, instance, async () => {
    const { refreshTokenLifespanSeconds: _lifespan, ...grant } = input;
    const outcome = await deps.client.requestToken({ grantType: 'password', ...grant });
    if (outcome.kind !== 'ok') {
      const message =
        outcome.kind === 'rejected'
          ? `ServiceNow refused the password grant${outcome.oauthError ? ` (${describeOutcome(outcome)})` : ''}: check the client id and secret, the user name and password, that the user is active, not locked and a local account, and that the password grant is enabled on the instance`
          : describeOutcome(outcome);
      return { kind: 'failed', outcome, message };
    }
    const token = outcome.value;
    if (token.refreshToken === undefined) {
      const failed: FailedOutcome = {
        kind: 'malformed',
        status: outcome.status,
        detail: 'the password grant returned no refresh token',
      };
      return { kind: 'failed', outcome: failed, message: describeOutcome(failed) };
    }
    const credentials: CredentialsSecret = {
      schemaVersion: 1,
      grant: 'password',
      clientId: input.clientId,
      clientSecret: input.clientSecret,
      refreshToken: token.refreshToken,
      refreshTokenIssuedAt: new Date(token.sentAt).toISOString(),
      refreshTokenLifespanSeconds: lifespan,
    };
    return { kind: 'ok', credentials, token };
  });
  if (result.kind !== 'ok') return result;
  const credentials = result.credentials as PasswordCredentials;
  return {
    kind: 'ok',
    refreshTokenExpiresAt: refreshTokenExpiresAt(credentials),
    accessTokenExpiresAt: result.accessTokenExpiresAt,
    state: result.state,
  };
}

/**
 * Stores credentials for a grant without refresh tokens (client credentials, JWT bearer) once
 * ServiceNow has accepted them, under the lease. Nothing is written if the grant is refused.
 */
export async function bootstrapWithCredentials(
  deps: BootstrapDeps,
  instance: InstanceConfig,
  credentials: Exclude<CredentialsSecret, { grant: 'password' }>,
): Promise<BootstrapResult> {
  return storeUnderLease(deps, instance, async () => {
    const outcome = await deps.client.requestToken(tokenGrantFor(credentials, deps.clock.now()));
    if (outcome.kind !== 'ok') {
      const message =
        outcome.kind === 'rejected'
          ? explainRejection(credentials, deps.clock.now(), instance.name, outcome).detail
          : describeOutcome(outcome);
      return { kind: 'failed', outcome, message };
    }
    return { kind: 'ok', credentials, token: outcome.value };
  });
}

/** Lease time a bootstrap keeps for the slowest grant answer plus the writes after it. */
const GRANT_AND_WRITES_MS = 40_000;

async function storeUnderLease(
  deps: BootstrapDeps,
  instance: InstanceConfig,
  obtain: () => Promise<
    | { readonly kind: 'ok'; readonly credentials: CredentialsSecret; readonly token: TokenGrantResult }
    | { readonly kind: 'failed'; readonly outcome: FailedOutcome; readonly message: string }
  >,
): Promise<BootstrapResult> {
  const { clock, state, owner } = deps;
  const leaseMs = deps.leaseMs ?? 90_000;
  const acquiredAt = clock.now();
  const leased = await state.acquireLease(instance.name, owner, acquiredAt, leaseMs);
  if (!leased) return { kind: 'busy' };
  // The same write-ahead protocol as the refresher: fenced by the lease's epoch, intent first.
  const hold: HeldLease = {
    instance,
    owner,
    epoch: leased.leaseEpoch ?? 0,
    writeUntil: acquiredAt + leaseMs - LEASE_SAFETY_MS,
  };
  let released = false;
  try {
    let current = leased;
    if (current.intentOpenSince !== undefined) current = (await resolveOpenIntent(deps, hold, current)).state;
    ensureLeaseRoom(clock, hold, 'asking for a grant', GRANT_AND_WRITES_MS);
    // Keep the marked state: the expiry of the token this grant returns is capped by when it opened.
    try {
      current = await state.commit(
        instance.name,
        owner,
        {},
        { release: false, epoch: hold.epoch, grantStartedAt: state.earliestAwsTime(clock.now()) },
      );
    } catch (error) {
      // Another writer took the lease over before any grant was asked for: nothing is spent, so
      // this is "busy" (try again), not a failure.
      if (error instanceof LeaseLostError) return { kind: 'busy' };
      throw error;
    }
    const obtained = await obtain();
    if (obtained.kind !== 'ok') return obtained;
    const { credentials } = obtained;
    // In AWS's time, never later: an operator's laptop clock may run a few seconds ahead.
    const token = { ...obtained.token, sentAt: state.earliestAwsTime(obtained.token.sentAt) };
    const verdict = await deps.verify?.(token.accessToken);
    if (verdict && !verdict.ok) return { kind: 'refused', message: verdict.message };
    const maxLifespan = maxAccessTokenLifespanSeconds(instance);
    const accessTokenExpiresAt = cappedExpiry(token, current, maxLifespan).expiresAt;
    await persistCredentials(deps, hold, credentials);
    const now = clock.now();
    const next = await storeAccessToken(deps, hold, {
      accessToken: token.accessToken,
      expiresAt: accessTokenExpiresAt,
      refreshedAt: token.sentAt,
      lifespanSeconds: Math.min(token.expiresInSeconds + 1, maxLifespan),
      credentials,
      patch: {
        lastAttemptAt: now,
        lastOutcome: 'bootstrapped',
        lastOutcomeDetail: null,
        lastSuccessAt: now,
        failingSince: null,
        consecutiveFailures: 0,
        nextAttemptAt: null,
        grantOpenSince: null,
      },
    });
    released = true;
    for (const kind of ['refresh', 'refresh-token-expiry', 'certificate-expiry'] as const) {
      await deps.alerts?.observe(
        instance,
        kind,
        { active: false },
        { refreshTokenExpiresAt: refreshTokenExpiresAt(credentials), accessTokenExpiresAt },
      );
    }
    return { kind: 'ok', credentials, accessTokenExpiresAt, state: next };
  } finally {
    if (!released) await state.releaseLease(instance.name, owner);
  }
}
