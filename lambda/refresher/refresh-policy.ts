import { DEFAULT_SCHEDULE } from '../shared/deployment-contract';
import { refreshTokenExpiresAt } from '../shared/secrets/credentials-secret';
import type { InstanceState } from '../shared/state/instance-state';

export interface RefreshSettings {
  /** How often the schedule invokes the refresher. Default 60 s. */
  readonly scheduleIntervalMs: number;
  /** Try to refresh this long before the stored expiry. Default 5 min. */
  readonly refreshAheadMs: number;
  /** After the stored expiry, wait this long before asking for a new token. Default 1.5 s. */
  readonly expirySlackMs: number;
  /** How long one writer may hold an instance. Default 90 s. */
  readonly leaseMs: number;
  /** Time for one instance's attempts, retries included. Default 40 s. */
  readonly attemptBudgetMs: number;
  /** The slowest answer one grant can take (the ServiceNow client's overall timeout). Default 20 s. */
  readonly grantTimeoutMs: number;
  /** Lease time kept for the writes after a grant (credentials with retries, intent, secret, commit). Default 20 s. */
  readonly writesBudgetMs: number;
  /** First pause after a transient failure; doubles up to `transientBackoffMaxMs`. Default 30 s. */
  readonly transientBackoffBaseMs: number;
  /** Default 5 min. */
  readonly transientBackoffMaxMs: number;
  /** After a rejected grant or a broken secret, the next automatic try. Default 15 min. */
  readonly permanentRetryMs: number;
  /**
   * An environment re-reads an instance's state at least this often, to notice changes made
   * made by hand. Default 2 h: every change the system makes that needs a sooner look (a probe's 401,
   * the CLI's refresh) invokes the refresher directly, and other writers only ever move expiry later.
   */
  readonly memoryMaxAgeMs: number;
  /** Instances refreshed at the same time. Default 8. */
  readonly concurrency: number;
}

export const DEFAULT_REFRESH_SETTINGS: RefreshSettings = {
  scheduleIntervalMs: DEFAULT_SCHEDULE.intervalSeconds * 1000,
  refreshAheadMs: DEFAULT_SCHEDULE.refreshAheadSeconds * 1000,
  expirySlackMs: 1_500,
  leaseMs: 90_000,
  attemptBudgetMs: 40_000,
  grantTimeoutMs: 20_000,
  writesBudgetMs: 20_000,
  transientBackoffBaseMs: 30_000,
  transientBackoffMaxMs: 5 * 60_000,
  permanentRetryMs: 15 * 60_000,
  memoryMaxAgeMs: 2 * 60 * 60_000,
  concurrency: 8,
};

export type Decision =
  | {
      readonly act: true;
      readonly reason:
        | 'forced'
        | 'no-token'
        | 'expiring'
        | 'expired'
        | 'refresh-token-lapsed'
        | 'unfinished-intent'
        | 'unsaved-refresh-token';
    }
  | {
      readonly act: false;
      readonly reason: 'fresh' | 'backing-off' | 'waiting-for-expiry';
      /** Nothing can change before this time, short of a forced refresh. */
      readonly recheckAt: number;
      /** Set when the moment matters to the second: the stored token lapses then. */
      readonly wakeAt?: number;
    };

/**
 * When to ask ServiceNow for a token. ServiceNow may hand back the current access token until it
 * expires, so on instances that do, the only way to get a new one is to ask just after the old one
 * lapses: the decision then names that second (`wakeAt`) and the handler waits for it.
 */
export function decide(
  state: InstanceState | undefined,
  now: number,
  settings: RefreshSettings,
  force = false,
): Decision {
  if (force) return { act: true, reason: 'forced' };
  // A writer stopped between its intent and its commit: the state may not mirror the secrets.
  if (state?.intentOpenSince !== undefined) return { act: true, reason: 'unfinished-intent' };
  // ServiceNow's Retry-After: nothing can succeed before it (the run itself checks again, for forced ones).
  if (state?.notBefore !== undefined && now < state.notBefore) {
    return { act: false, reason: 'backing-off', recheckAt: state.notBefore };
  }
  const expiresAt = state?.accessTokenExpiresAt;
  if (state === undefined || expiresAt === undefined) {
    if (state?.nextAttemptAt !== undefined && now < state.nextAttemptAt) {
      return { act: false, reason: 'backing-off', recheckAt: state.nextAttemptAt };
    }
    return { act: true, reason: 'no-token' };
  }
  if (state.nextAttemptAt !== undefined && now < state.nextAttemptAt) {
    return { act: false, reason: 'backing-off', recheckAt: state.nextAttemptAt };
  }
  // A rotated refresh token waits in the state for the credentials secret: store it now.
  if (state.pendingRefreshToken !== undefined) return { act: true, reason: 'unsaved-refresh-token' };
  // The recorded end of the refresh token: one attempt right after it tells at once whether it died,
  // rather than when the last access token runs out.
  const refreshTokenEnd = refreshTokenExpiresAt(state);
  if (
    refreshTokenEnd !== undefined &&
    now >= refreshTokenEnd &&
    (state.lastAttemptAt ?? 0) < refreshTokenEnd
  ) {
    return { act: true, reason: 'refresh-token-lapsed' };
  }
  const refreshFrom = expiresAt - settings.refreshAheadMs;
  if (now < refreshFrom) {
    const recheckAt =
      refreshTokenEnd !== undefined && refreshTokenEnd > now
        ? Math.min(refreshFrom, refreshTokenEnd)
        : refreshFrom;
    return { act: false, reason: 'fresh', recheckAt };
  }
  if (state.echoesEarlyRefresh) {
    const wakeAt = expiresAt + settings.expirySlackMs;
    if (now < wakeAt) return { act: false, reason: 'waiting-for-expiry', recheckAt: wakeAt, wakeAt };
    return { act: true, reason: 'expired' };
  }
  return { act: true, reason: now < expiresAt ? 'expiring' : 'expired' };
}

/** When to try again after a failure, so a dead instance is not hammered. */
export function nextAttemptAfterFailure(options: {
  readonly now: number;
  readonly transient: boolean;
  readonly consecutiveFailures: number;
  readonly accessTokenExpiresAt: number | undefined;
  readonly settings: RefreshSettings;
}): number | undefined {
  const { now, transient, consecutiveFailures, accessTokenExpiresAt, settings } = options;
  if (!transient) return now + settings.permanentRetryMs;
  const backoff = Math.min(
    settings.transientBackoffMaxMs,
    settings.transientBackoffBaseMs * 2 ** Math.max(0, consecutiveFailures - 1),
  );
  // While the stored token is near or past its end, every scheduled run tries again.
  if (accessTokenExpiresAt === undefined || accessTokenExpiresAt - settings.refreshAheadMs < now + backoff) {
    return undefined;
  }
  return now + backoff;
}
