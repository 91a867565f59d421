import type { Clock } from '../shared/clock';
import { credentialsMirror, explainRejection, tokenGrantFor } from '../shared/credentials-grant';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import type { AccessTokenSecret } from '../shared/secrets/access-token-secret';
import {
  type CredentialsSecret,
  credentialsSecretSchema,
  parseSecretJson,
} from '../shared/secrets/credentials-secret';
import type { SecretStore } from '../shared/secrets/secret-store';
import { describeOutcome, type FailedOutcome, isTransient, type Outcome } from '../shared/servicenow/outcome';
import type { TokenGrant, TokenGrantResult } from '../shared/servicenow/servicenow-client';
import { fingerprint, type InstanceState, type StatePatch } from '../shared/state/instance-state';
import type { StateStore } from '../shared/state/state-store';
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
}

/** What one attempt on one instance came to; also recorded as `lastOutcome` in the state table. */
export type RefreshOutcome =
  | 'refreshed'
  | 'current-token-returned'
  | 'not-due'
  | 'busy'
  | 'not-bootstrapped'
  | 'invalid-credentials-secret'
  | 'refresh-token-expired'
  | 'refresh-token-rejected'
  | 'grant-rejected'
  | Exclude<FailedOutcome['kind'], 'rejected'>;

export interface InstanceResult {
  readonly instance: string;
  readonly outcome: RefreshOutcome;
  readonly detail?: string;
  /** The state as this run left it, when it wrote or read it under the lease. */
  readonly state?: InstanceState;
  /** The second at which this instance needs another look (the stored token lapses then). */
  readonly wakeAt?: number;
  /** The outcome recorded before this run, when it was read under the lease. */
  readonly previousOutcome?: string;
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
/** Stop writing this long before the lease ends, so a slow run never overlaps the next writer. */
const LEASE_SAFETY_MS = 5_000;

/**
 * Refreshes one instance under its lease. Never writes anything worse than what is stored: a
 * failure leaves both secrets as they were and is recorded in the state table instead.
 */
export async function refreshInstance(
  deps: RefreshDeps,
  instance: InstanceConfig,
  options: { readonly force: boolean; readonly shouldAct: (state: InstanceState) => boolean },
): Promise<InstanceResult> {
  const { clock, state: store, owner, settings } = deps;
  const acquiredAt = clock.now();
  const leased = await store.acquireLease(instance.name, owner, acquiredAt, settings.leaseMs);
  if (!leased) return { instance: instance.name, outcome: 'busy' };
  const leaseUntil = acquiredAt + settings.leaseMs - LEASE_SAFETY_MS;
  let released = false;
  const commit = async (patch: StatePatch): Promise<InstanceState> => {
    const next = await store.commit(instance.name, owner, patch, { release: true });
    released = true;
    return next;
  };
  try {
    // Re-read under the lease: another writer may have refreshed or renewed since we looked.
    if (!options.force && !options.shouldAct(leased)) {
      await store.releaseLease(instance.name, owner);
      released = true;
      return { instance: instance.name, outcome: 'not-due', state: leased };
    }
    return await refreshLeased(deps, instance, leased, leaseUntil, commit);
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

async function refreshLeased(
  deps: RefreshDeps,
  instance: InstanceConfig,
  state: InstanceState,
  leaseUntil: number,
  commit: (patch: StatePatch) => Promise<InstanceState>,
): Promise<InstanceResult> {
  const { clock, logger, secrets } = deps;
  const now = clock.now();
  const ensureLease = () => {
    if (clock.now() > leaseUntil) {
      throw new Error(`stopped before writing ${instance.name}: the lease was about to lapse`);
    }
  };

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
    return failure(deps, instance, state, commit, 'not-bootstrapped', detail, false);
  }
  const parsed = parseSecretJson(credentialsSecretSchema, read.text);
  if (parsed.kind === 'invalid') {
    const detail = `the credentials secret ${instance.credentialsSecretId} is not valid (${parsed.problem}); it was left as it is. Run "snow-token renew ${instance.name}" to rewrite it`;
    return failure(deps, instance, state, commit, 'invalid-credentials-secret', detail, false);
  }
  let credentials = parsed.value;

  // Retries within the run are for blips; once failures span runs, one attempt per run is enough.
  const attempts = (state.consecutiveFailures ?? 0) >= 2 ? 1 : MAX_ATTEMPTS;
  const outcome = await requestWithRetries(deps, instance, tokenGrantFor(credentials, clock.now()), attempts);
  if (outcome.kind !== 'ok') {
    if (outcome.kind === 'rejected') {
      const rejection = explainRejection(credentials, clock.now(), instance.name, outcome);
      return failure(deps, instance, state, commit, rejection.outcome, rejection.detail, false, credentials);
    }
    const notBefore = retryAtOf(outcome);
    return failure(
      deps,
      instance,
      state,
      commit,
      outcome.kind,
      `${describeOutcome(outcome)}${notBefore === undefined ? '' : lapseNote(state.accessTokenExpiresAt, notBefore, clock.now())}`,
      retryable(outcome),
      credentials,
      notBefore,
    );
  }

  const token = outcome.value;
  // A refresh token that differs from ours is a new one: keep it before anything else can fail.
  if (
    credentials.grant === 'password' &&
    token.refreshToken !== undefined &&
    token.refreshToken !== credentials.refreshToken
  ) {
    ensureLease();
    credentials = {
      ...credentials,
      refreshToken: token.refreshToken,
      refreshTokenIssuedAt: new Date(token.sentAt).toISOString(),
    };
    await secrets.write(instance.credentialsSecretId, credentials);
    logger.info('ServiceNow issued a new refresh token; stored it', { instance: instance.name });
  }

  const tokenFingerprint = fingerprint(token.accessToken);
  const claimedExpiry = token.sentAt + token.expiresInSeconds * 1000;
  const stored = state.accessTokenExpiresAt;
  const sameToken = tokenFingerprint === state.accessTokenFingerprint && stored !== undefined;
  const refreshFields = credentialsMirror(credentials);
  const healthy: StatePatch = {
    lastAttemptAt: now,
    lastSuccessAt: clock.now(),
    lastOutcomeDetail: null,
    failingSince: null,
    consecutiveFailures: 0,
    nextAttemptAt: null,
    notBefore: null,
  };

  if (sameToken) {
    // ServiceNow handed back the token we hold. Its life is not extended, whatever expires_in says.
    const expiresAt = Math.min(stored, claimedExpiry);
    if (expiresAt < stored - 2_000) {
      ensureLease();
      await secrets.write(instance.accessTokenSecretId, accessTokenSecret(instance, token, expiresAt, state));
    }
    const next = await commit({
      ...refreshFields,
      ...healthy,
      accessTokenExpiresAt: expiresAt,
      echoesEarlyRefresh: true,
      lastOutcome: 'current-token-returned',
    });
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

  ensureLease();
  await secrets.write(instance.accessTokenSecretId, accessTokenSecret(instance, token, claimedExpiry));
  const early = stored !== undefined && token.sentAt < stored;
  const next = await commit({
    ...refreshFields,
    ...healthy,
    accessTokenExpiresAt: claimedExpiry,
    accessTokenFingerprint: tokenFingerprint,
    accessTokenRefreshedAt: clock.now(),
    accessTokenLifespanSeconds: token.expiresInSeconds + 1,
    // An early refresh that brought a new token shows this instance extends; one after expiry shows nothing.
    echoesEarlyRefresh: early ? false : (state.echoesEarlyRefresh ?? null),
    lastOutcome: 'refreshed',
  });
  logger.info('stored a new access token', {
    instance: instance.name,
    expiresAt: new Date(claimedExpiry).toISOString(),
    lifespanSeconds: token.expiresInSeconds + 1,
  });
  return { instance: instance.name, outcome: 'refreshed', state: next, previousOutcome: state.lastOutcome };
}

function accessTokenSecret(
  instance: InstanceConfig,
  token: TokenGrantResult,
  expiresAt: number,
  previous?: InstanceState,
): AccessTokenSecret {
  const refreshedAt = previous?.accessTokenRefreshedAt ?? token.sentAt;
  return {
    schemaVersion: 1,
    instanceUrl: new URL(instance.url).origin,
    accessToken: token.accessToken,
    tokenType: 'Bearer',
    expiresAt: new Date(expiresAt).toISOString(),
    refreshedAt: new Date(refreshedAt).toISOString(),
  };
}

async function requestWithRetries(
  deps: RefreshDeps,
  instance: InstanceConfig,
  grant: TokenGrant,
  maxAttempts: number,
): Promise<Outcome<TokenGrantResult>> {
  const { clock, settings } = deps;
  const random = deps.random ?? Math.random;
  const deadline = clock.now() + settings.attemptBudgetMs;
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

async function failure(
  deps: RefreshDeps,
  instance: InstanceConfig,
  state: InstanceState,
  commit: (patch: StatePatch) => Promise<InstanceState>,
  outcome: Exclude<RefreshOutcome, 'refreshed' | 'current-token-returned' | 'not-due' | 'busy'>,
  detail: string,
  transient: boolean,
  credentials?: CredentialsSecret,
  notBefore?: number,
): Promise<InstanceResult> {
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
  });
  const log = transient ? deps.logger.warn.bind(deps.logger) : deps.logger.error.bind(deps.logger);
  log('refresh failed', { instance: instance.name, outcome, detail, consecutiveFailures });
  return { instance: instance.name, outcome, detail, state: next, previousOutcome: state.lastOutcome };
}
