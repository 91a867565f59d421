import type { Clock } from '../shared/clock';
import { credentialsMirror, explainRejection, tokenGrantFor } from '../shared/credentials-grant';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import type { RecordedOutcome, RefreshOutcome } from '../shared/refresh-outcome';
import {
  type CredentialsSecret,
  credentialsSecretSchema,
  type PasswordCredentials,
  parseSecretJson,
} from '../shared/secrets/credentials-secret';
import type { SecretStore } from '../shared/secrets/secret-store';
import { describeOutcome, type FailedOutcome, isTransient, type Outcome } from '../shared/servicenow/outcome';
import type { TokenGrant, TokenGrantResult } from '../shared/servicenow/servicenow-client';
import { ClockSkewError } from '../shared/state/aws-clock';
import type { InstanceState, StatePatch } from '../shared/state/instance-state';
import { openPendingRefreshToken, sealPendingRefreshToken } from '../shared/state/pending-refresh-token';
import { LeaseLostError, type StateStore } from '../shared/state/state-store';
import {
  cappedExpiry,
  ensureLeaseRoom,
  type HeldLease,
  LEASE_SAFETY_MS,
  LeaseTooShortError,
  maxAccessTokenLifespanSeconds,
  persistCredentials,
  RefreshTokenNotStoredError,
  resolveOpenIntent,
  storeAccessToken,
} from '../shared/state/write-ahead';
import { nextAttemptAfterFailure, type RefreshSettings } from './refresh-policy';

export interface TokenEndpoint {
  requestToken(grant: TokenGrant): Promise<Outcome<TokenGrantResult>>;
}

export interface RefreshDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secrets: SecretStore;
  readonly state: StateStore;
  readonly tokenEndpoint: (instance: InstanceConfig) => TokenEndpoint;
  readonly settings: RefreshSettings;
  /** Names this writer in leases, e.g. "refresher/<request id>". */
  readonly owner: string;
  readonly random?: () => number;
  /**
   * This execution environment's memory of rotated refresh tokens it could not store (per
   * instance): written before anything else on its next runs, since the stored one is revoked.
   */
  readonly unsaved?: Map<string, UnsavedRotation>;
}

/** A refresh token ServiceNow rotated that the credentials secret does not hold yet. */
export interface UnsavedRotation {
  /** The refresh token it replaced: the secret must still hold that one, or someone renewed since. */
  readonly replaces: string;
  readonly credentials: PasswordCredentials;
}

export interface InstanceResult {
  readonly instance: string;
  /** Also recorded as `lastOutcome` in the state table, unless the run was skipped. */
  readonly outcome: RefreshOutcome;
  /** For people: what happened and what to do. */
  readonly detail?: string;
  /** ServiceNow's answer, when one failed the run: the facts `detail` tells, as data. */
  readonly cause?: FailedOutcome;
  /** The state as this run left it, when it wrote or read it under the lease. */
  readonly state?: InstanceState;
  /** The second at which this instance needs another look (the stored token lapses then). */
  readonly wakeAt?: number;
  /** The outcome recorded before this run, when it was read under the lease. */
  readonly previousOutcome?: RecordedOutcome;
}

const MAX_ATTEMPTS = 3;

/**
 * Worth another try soon. An unusable answer from the token endpoint (a cut or oversized body, JSON
 * without a token) is as often a proxy's or the network's blip as a lasting fault: backing off for
 * the 15 minutes of a refused grant let the stored token lapse (found by the 120-day chaos run).
 */
function retryable(outcome: FailedOutcome): boolean {
  return isTransient(outcome) || outcome.kind === 'malformed';
}

/**
 * Refreshes one instance under its lease, by the write-ahead protocol (lambda/shared/state/
 * write-ahead.ts). Never writes anything worse than what is stored: a failure leaves both secrets
 * as they were, or as an open intent the next writer finishes, and is recorded in the state table.
 */
export async function refreshInstance(
  deps: RefreshDeps,
  instance: InstanceConfig,
  options: { readonly force: boolean; readonly shouldAct: (state: InstanceState) => boolean },
): Promise<InstanceResult> {
  const { clock, state: store, owner, settings } = deps;
  const acquiredAt = clock.now();
  let leased: InstanceState | undefined;
  try {
    leased = await store.acquireLease(instance.name, owner, acquiredAt, settings.leaseMs);
  } catch (error) {
    if (error instanceof ClockSkewError) return clockSkew(deps, instance, error);
    throw error;
  }
  if (!leased) return { instance: instance.name, outcome: 'busy' };
  const hold: HeldLease = {
    instance,
    owner,
    epoch: leased.leaseEpoch ?? 0,
    writeUntil: acquiredAt + settings.leaseMs - LEASE_SAFETY_MS,
  };
  let released = false;
  const commit = async (patch: StatePatch): Promise<InstanceState> => {
    const next = await store.commit(instance.name, owner, patch, { release: true, epoch: hold.epoch });
    released = true;
    return next;
  };
  try {
    let current = leased;
    if (current.intentOpenSince !== undefined) {
      const resolved = await resolveOpenIntent(deps, hold, current);
      current = resolved.state;
      deps.logger.warn('finished an intent a previous writer left open', {
        instance: instance.name,
        resolution: resolved.resolution,
      });
    }
    // Re-read under the lease: another writer may have refreshed or renewed since we looked.
    if (!options.force && !options.shouldAct(current) && !deps.unsaved?.has(instance.name)) {
      await store.releaseLease(instance.name, owner);
      released = true;
      return { instance: instance.name, outcome: 'not-due', state: current };
    }
    const result = await refreshLeased({ deps, hold, state: current, commit });
    // A stored token or a recorded failure released the lease with its commit.
    if (result.state && result.outcome !== 'rate-limited') released = true;
    return result;
  } catch (error) {
    if (error instanceof ClockSkewError) return clockSkew(deps, instance, error);
    if (error instanceof LeaseTooShortError) {
      deps.logger.warn('stopped: the lease was about to lapse', { instance: instance.name });
      return { instance: instance.name, outcome: 'lease-lapsing', detail: error.message };
    }
    if (error instanceof LeaseLostError) {
      // Fenced out: another writer took the lease over; it finishes whatever intent we left open.
      released = true;
      deps.logger.warn('stopped: another writer took the lease over', { instance: instance.name });
      return { instance: instance.name, outcome: 'lease-lost', detail: error.message };
    }
    throw error;
  } finally {
    if (!released) {
      await store.releaseLease(instance.name, owner).catch((error: unknown) => {
        deps.logger.warn('could not release the lease; it lapses by itself', {
          instance: instance.name,
          error: (error as Error).name,
        });
      });
    }
  }
}

function clockSkew(deps: RefreshDeps, instance: InstanceConfig, error: ClockSkewError): InstanceResult {
  deps.logger.error("refused to write: this environment's clock is too far from AWS's", {
    instance: instance.name,
    skewMs: Math.round(error.skewMs),
  });
  return { instance: instance.name, outcome: 'clock-skew', detail: error.message };
}

/** One attempt on one instance under its lease: what every step after the lease needs. */
interface LeasedAttempt {
  readonly deps: RefreshDeps;
  readonly hold: HeldLease;
  /** The state as read under the lease. */
  readonly state: InstanceState;
  /** The final write: the patch, with the lease released. */
  readonly commit: (patch: StatePatch) => Promise<InstanceState>;
}

async function refreshLeased(leased: LeasedAttempt): Promise<InstanceResult> {
  let attempt = leased;
  const { deps, hold } = attempt;
  let { state } = attempt;
  const { clock, logger, secrets, settings } = deps;
  const instance = hold.instance;
  const now = clock.now();

  if (state.notBefore !== undefined && now < state.notBefore) {
    // ServiceNow said no request before then: one now cannot succeed, forced or not.
    const detail = `not asked: ServiceNow asked for no request before ${new Date(state.notBefore).toISOString()} (Retry-After)${lapseNote(state.accessTokenExpiresAt, state.notBefore, now)}`;
    return {
      instance: instance.name,
      outcome: 'rate-limited',
      detail,
      state,
      previousOutcome: state.lastOutcome,
    };
  }

  const read = await secrets.read(instance.credentialsSecretId);
  if (read.kind === 'missing') {
    const detail = `no credentials yet: run "snow-token bootstrap ${instance.name}"`;
    return failure(attempt, { outcome: 'not-bootstrapped', detail, transient: false });
  }
  const parsed = parseSecretJson(credentialsSecretSchema, read.text);
  if (parsed.kind === 'invalid') {
    const detail = `the credentials secret ${instance.credentialsSecretId} is not valid (${parsed.problem}); it was left as it is. Run "snow-token renew ${instance.name}" to rewrite it`;
    return failure(attempt, { outcome: 'invalid-credentials-secret', detail, transient: false });
  }
  let credentials = parsed.value;
  const rotated = rotatedTokenToStore(deps, instance.name, state, credentials);
  if (rotated) {
    // A refresh token ServiceNow rotated on an earlier run, not stored yet: store it before anything
    // else, instead of spending the (revoked) one it replaced.
    try {
      await persistCredentials(deps, hold, rotated.credentials);
    } catch (error) {
      deps.unsaved?.set(instance.name, rotated);
      const notStored = expectedError(error, RefreshTokenNotStoredError);
      return failure(attempt, {
        outcome: 'refresh-token-not-stored',
        detail: notStored.message,
        transient: true,
        extra: sealPendingRefreshToken(instance.name, rotated.replaces, rotated.credentials),
      });
    }
    credentials = rotated.credentials;
    logger.info('stored the refresh token ServiceNow rotated on an earlier run', { instance: instance.name });
  }
  let grant: TokenGrant;
  try {
    grant = tokenGrantFor(credentials, clock.now());
  } catch (error) {
    // A private key that does not parse: no grant can be built until the secret is fixed.
    const detail = `the credentials secret ${instance.credentialsSecretId} holds a private key that cannot sign (${(error as Error).name}); it was left as it is. Store a working key: snow-token bootstrap ${instance.name} --grant ${credentials.grant} --new-client`;
    return failure(attempt, { outcome: 'invalid-credentials-secret', detail, transient: false });
  }

  // The grant is the irreversible step: only start it with room for the slowest answer and the writes.
  const grantDeadline = Math.min(
    clock.now() + settings.attemptBudgetMs,
    hold.writeUntil - settings.writesBudgetMs - settings.grantTimeoutMs,
  );
  ensureLeaseRoom(clock, hold, 'asking for a grant', settings.grantTimeoutMs + settings.writesBudgetMs);
  // An earlier writer's grant whose answer nobody recorded: on an instance that rotates refresh
  // tokens, its answer may still be on its way with the successor of the token we hold.
  const unansweredGrant = state.grantOpenSince !== undefined;
  // Keep the marked state: a token handed back later in this run (a retry after a lost answer)
  // must be capped by the time this grant opened, not by when the retry was sent.
  state = await deps.state.commit(
    instance.name,
    hold.owner,
    // A restored rotated token is in the secret now: the state says so (and forgets its sealed copy)
    // even if the run stops before its last commit.
    rotated ? credentialsMirror(credentials) : {},
    {
      release: false,
      epoch: hold.epoch,
      // In AWS's time, never later: a writer whose clock runs ahead must not start the cap late.
      grantStartedAt: deps.state.earliestAwsTime(clock.now()),
    },
  );
  attempt = { ...attempt, state };

  // Retries within the run are for blips; once failures span runs, one attempt per run is enough.
  const attempts = (state.consecutiveFailures ?? 0) >= 2 ? 1 : MAX_ATTEMPTS;
  const outcome = await requestWithRetries(deps, {
    instance,
    grant,
    maxAttempts: attempts,
    deadline: grantDeadline,
  });
  if (outcome.kind !== 'ok') {
    // An answer we could read means no token was issued; a timeout or a cut answer may hide one.
    const answered =
      outcome.kind !== 'timeout' && outcome.kind !== 'network-error' && outcome.kind !== 'malformed';
    const extra: StatePatch = answered ? { grantOpenSince: null } : {};
    if (outcome.kind === 'rejected') {
      const rejection = explainRejection(credentials, clock.now(), instance.name, outcome);
      // That grant may have spent our refresh token; its writer stores the new one before anything
      // else. Not a person's job (yet): the next run reads the credentials again. If that writer is
      // gone for good, this run's answer has closed its mark, and the next refusal alerts.
      const inFlight = unansweredGrant && rejection.outcome === 'refresh-token-rejected';
      const failed = await failure(attempt, {
        ...(inFlight
          ? {
              outcome: 'rotation-in-flight',
              detail: `ServiceNow refused the refresh token while an earlier grant's answer was unrecorded: it may have rotated the token, and its writer stores the new one. The next run reads the credentials again; if ServiceNow refuses again, run "snow-token renew ${instance.name}"`,
              transient: true,
            }
          : { outcome: rejection.outcome, detail: rejection.detail, transient: false }),
        credentials,
        extra,
      });
      return { ...failed, cause: outcome };
    }
    const notBefore = retryAtOf(outcome);
    const failed = await failure(attempt, {
      outcome: outcome.kind,
      detail: `${describeOutcome(outcome)}${notBefore === undefined ? '' : lapseNote(state.accessTokenExpiresAt, notBefore, clock.now())}`,
      transient: retryable(outcome),
      credentials,
      notBefore,
      extra,
    });
    return { ...failed, cause: outcome };
  }

  // Timestamps that bound an expiry are in AWS's time, never later: a writer whose clock runs a few
  // seconds ahead must not store an expiry past ServiceNow's.
  const token = { ...outcome.value, sentAt: deps.state.earliestAwsTime(outcome.value.sentAt) };
  // A refresh token that differs from ours is a new one (the old one may be revoked already): keep it
  // before anything else can fail.
  if (
    credentials.grant === 'password' &&
    token.refreshToken !== undefined &&
    token.refreshToken !== credentials.refreshToken
  ) {
    const replaces = credentials.refreshToken;
    credentials = {
      ...credentials,
      refreshToken: token.refreshToken,
      refreshTokenIssuedAt: new Date(token.sentAt).toISOString(),
    };
    try {
      await persistCredentials(deps, hold, credentials);
    } catch (error) {
      const notStored = expectedError(error, RefreshTokenNotStoredError);
      // Kept for this environment's next runs, and sealed into the state for any other writer's:
      // whoever runs next stores it before anything else.
      deps.unsaved?.set(instance.name, { replaces, credentials });
      return failure(attempt, {
        outcome: 'refresh-token-not-stored',
        detail: notStored.message,
        transient: true,
        extra: sealPendingRefreshToken(instance.name, replaces, credentials),
      });
    }
    logger.info('ServiceNow issued a new refresh token; stored it', { instance: instance.name });
  }

  try {
    return await storeGranted(attempt, { token, credentials, attemptedAt: now });
  } catch (error) {
    // The answer came too late to write the access token; the credentials (and any rotated refresh
    // token in them) are stored already. A fenced commit says so; the next run asks again.
    const detail = expectedError(error, LeaseTooShortError).message;
    return failure(attempt, { outcome: 'lease-lapsing', detail, transient: true, credentials });
  }
}

/**
 * A rotated refresh token an earlier run could not store, if the credentials secret still holds the
 * one it replaced: from this environment's memory, or sealed in the state by any writer (a cold
 * start, a duplicate delivery). A renewal since then is newer and wins; the next commit, which
 * mirrors the credentials, forgets what the state kept.
 */
function rotatedTokenToStore(
  deps: RefreshDeps,
  instance: string,
  state: InstanceState,
  credentials: CredentialsSecret,
): UnsavedRotation | undefined {
  const remembered = deps.unsaved?.get(instance);
  deps.unsaved?.delete(instance);
  if (remembered && credentials.grant === 'password' && credentials.refreshToken === remembered.replaces) {
    return remembered;
  }
  if (state.pendingRefreshToken === undefined || state.pendingRefreshTokenReplaces === undefined)
    return undefined;
  const pending = openPendingRefreshToken(
    instance,
    { sealed: state.pendingRefreshToken, replacesFingerprint: state.pendingRefreshTokenReplaces },
    credentials,
  );
  if (pending.kind === 'unreadable') {
    deps.logger.error(
      'a rotated refresh token kept in the state could not be opened (the client secret changed?)',
      {
        instance,
      },
    );
  }
  if (pending.kind !== 'store' || credentials.grant !== 'password') return undefined;
  return { replaces: credentials.refreshToken, credentials: pending.credentials };
}

/** `error` if it is of the kind a step names as an outcome; anything else is thrown on. */
function expectedError<E extends Error>(error: unknown, kind: abstract new (...args: never[]) => E): E {
  if (error instanceof kind) return error;
  throw error;
}

/** A token ServiceNow granted, and the credentials that got it (as stored by now). */
interface Granted {
  readonly token: TokenGrantResult;
  readonly credentials: CredentialsSecret;
  /** When this attempt began (clock ms). */
  readonly attemptedAt: number;
}

async function storeGranted(
  { deps, hold, state, commit }: LeasedAttempt,
  { token, credentials, attemptedAt }: Granted,
): Promise<InstanceResult> {
  const { clock, logger } = deps;
  const instance = hold.instance;
  const maxLifespan = maxAccessTokenLifespanSeconds(instance);
  if (token.expiresInSeconds > maxLifespan) {
    logger.warn('expires_in is longer than the configured access-token lifespan; stored the configured one', {
      instance: instance.name,
      expiresInSeconds: token.expiresInSeconds,
      maxLifespanSeconds: maxLifespan,
    });
  }
  const expiry = cappedExpiry(token, state, maxLifespan);
  const stored = state.accessTokenExpiresAt;
  const refreshFields = credentialsMirror(credentials);
  const healthy: StatePatch = {
    lastAttemptAt: attemptedAt,
    lastSuccessAt: clock.now(),
    lastOutcomeDetail: null,
    failingSince: null,
    consecutiveFailures: 0,
    nextAttemptAt: null,
    notBefore: null,
    grantOpenSince: null,
  };

  if (expiry.known === 'stored' && stored !== undefined) {
    // ServiceNow handed back the token we hold. Its life is not extended, whatever expires_in says.
    const expiresAt = expiry.expiresAt;
    const patch: StatePatch = {
      ...refreshFields,
      ...healthy,
      accessTokenExpiresAt: expiresAt,
      echoesEarlyRefresh: true,
      lastOutcome: 'current-token-returned',
    };
    const next =
      expiresAt < stored - 2_000
        ? await storeAccessToken(deps, hold, {
            accessToken: token.accessToken,
            expiresAt,
            refreshedAt: state.accessTokenRefreshedAt ?? token.sentAt,
            lifespanSeconds:
              state.accessTokenLifespanSeconds ?? Math.min(token.expiresInSeconds + 1, maxLifespan),
            credentials,
            patch,
          })
        : await commit(patch);
    // Past our stored expiry, ServiceNow still calls it current: it lapses within a second or two.
    const wakeAt =
      clock.now() >= expiresAt
        ? clock.now() + deps.settings.expirySlackMs
        : expiresAt + deps.settings.expirySlackMs;
    logger.info('ServiceNow returned the current access token; will ask again once it lapses', {
      instance: instance.name,
      expiresAt: new Date(expiresAt).toISOString(),
    });
    return {
      instance: instance.name,
      outcome: 'current-token-returned',
      state: next,
      wakeAt,
      previousOutcome: state.lastOutcome,
    };
  }

  const early = stored !== undefined && token.sentAt < stored;
  const lifespanSeconds = Math.min(token.expiresInSeconds + 1, maxLifespan);
  const next = await storeAccessToken(deps, hold, {
    accessToken: token.accessToken,
    expiresAt: expiry.expiresAt,
    refreshedAt: clock.now(),
    lifespanSeconds,
    credentials,
    patch: {
      ...healthy,
      // An early refresh that brought a new token shows this instance extends; one after expiry shows nothing.
      echoesEarlyRefresh: early && expiry.known === undefined ? false : (state.echoesEarlyRefresh ?? null),
      lastOutcome: 'refreshed',
    },
  });
  logger.info('stored a new access token', {
    instance: instance.name,
    expiresAt: new Date(expiry.expiresAt).toISOString(),
    lifespanSeconds,
  });
  return { instance: instance.name, outcome: 'refreshed', state: next, previousOutcome: state.lastOutcome };
}

async function requestWithRetries(
  deps: RefreshDeps,
  request: {
    readonly instance: InstanceConfig;
    readonly grant: TokenGrant;
    readonly maxAttempts: number;
    /** No retry that would start past this moment (clock ms). */
    readonly deadline: number;
  },
): Promise<Outcome<TokenGrantResult>> {
  const { instance, grant, maxAttempts, deadline } = request;
  const { clock } = deps;
  const random = deps.random ?? Math.random;
  const endpoint = deps.tokenEndpoint(instance);
  for (let attempt = 1; ; attempt++) {
    const outcome = await endpoint.requestToken(grant);
    if (outcome.kind === 'ok' || !retryable(outcome) || attempt >= maxAttempts) return outcome;
    const backoff = 1000 * 2 ** (attempt - 1) * (0.75 + random() * 0.5);
    const notBefore = retryAtOf(outcome);
    // Never before ServiceNow's Retry-After: a request sooner cannot succeed.
    const delay = notBefore === undefined ? backoff : Math.max(backoff, notBefore - clock.now() + 1000);
    if (clock.now() + delay >= deadline) return outcome;
    deps.logger.warn('transient failure; retrying', {
      instance: instance.name,
      attempt,
      failure: describeOutcome(outcome),
      retryInMs: Math.round(delay),
    });
    await clock.sleep(delay);
  }
}

/** When ServiceNow said the next request may go (Retry-After or X-RateLimit-Reset), if it did. */
function retryAtOf(outcome: FailedOutcome): number | undefined {
  if (outcome.kind === 'rate-limited' || outcome.kind === 'unavailable') return outcome.retryAt;
  return undefined;
}

/** Says so when the stored token lapses before ServiceNow will take another request. */
function lapseNote(accessTokenExpiresAt: number | undefined, notBefore: number, now: number): string {
  if (accessTokenExpiresAt === undefined || accessTokenExpiresAt >= notBefore) return '';
  const when = accessTokenExpiresAt <= now ? 'lapsed' : 'lapses';
  return `; the stored access token ${when} at ${new Date(accessTokenExpiresAt).toISOString()}, before then: sync jobs get no valid token until ${new Date(notBefore).toISOString()}`;
}

/** A failed attempt, as it is recorded. */
interface Failure {
  readonly outcome: Exclude<
    RefreshOutcome,
    'refreshed' | 'current-token-returned' | 'not-due' | 'busy' | 'clock-skew' | 'lease-lost'
  >;
  readonly detail: string;
  /** Worth another try soon (backs off briefly), rather than after `permanentRetryMs`. */
  readonly transient: boolean;
  /** The credentials as stored now, mirrored into the state. */
  readonly credentials?: CredentialsSecret;
  /** ServiceNow's Retry-After: no request before it. */
  readonly notBefore?: number;
  /** Further fields for the same commit. */
  readonly extra?: StatePatch;
}

/** Records a failed attempt (and releases the lease); both secrets stay as they were. */
async function failure(
  { deps, hold, state, commit }: LeasedAttempt,
  { outcome, detail, transient, credentials, notBefore, extra }: Failure,
): Promise<InstanceResult> {
  const instance = hold.instance;
  const now = deps.clock.now();
  const consecutiveFailures = (state.consecutiveFailures ?? 0) + 1;
  const backoffUntil = nextAttemptAfterFailure({
    now,
    transient,
    consecutiveFailures,
    accessTokenExpiresAt: state.accessTokenExpiresAt,
    settings: deps.settings,
  });
  const next = await commit({
    lastAttemptAt: now,
    lastOutcome: outcome,
    lastOutcomeDetail: detail,
    failingSince: state.failingSince ?? now,
    consecutiveFailures,
    nextAttemptAt:
      notBefore === undefined ? (backoffUntil ?? null) : Math.max(backoffUntil ?? notBefore, notBefore),
    notBefore: notBefore ?? null,
    ...(credentials && credentialsMirror(credentials)),
    ...extra,
  });
  const log = transient ? deps.logger.warn.bind(deps.logger) : deps.logger.error.bind(deps.logger);
  log('refresh failed', { instance: instance.name, outcome, detail, consecutiveFailures });
  return { instance: instance.name, outcome, detail, state: next, previousOutcome: state.lastOutcome };
}
