import { TRANSIENT_OUTCOME_KINDS } from './servicenow/outcome';

/**
 * What one refresh attempt on one instance can come to, in four groups that tell the report what
 * to do with it. The refresher records it as `lastOutcome` in the state table and answers it to
 * whoever invoked it (the token client, the probe, the CLI).
 */

/** A token is stored: a new one, or the current one ServiceNow handed back. */
export const HEALTHY_REFRESH_OUTCOMES = ['refreshed', 'current-token-returned'] as const;

/** Failures no retry will fix: a person must act, so they alert at once. */
export const REFRESH_FAILURES_NEEDING_A_PERSON = [
  'refresh-token-expired',
  'refresh-token-rejected',
  'grant-rejected',
  'invalid-credentials-secret',
  /** ServiceNow rotated the refresh token and the new one could not be stored. */
  'refresh-token-not-stored',
  'not-bootstrapped',
  'unauthorized',
  'forbidden',
] as const;

/** Failures of ServiceNow or the network that the refresher retries by itself; they alert after a grace period. */
export const RETRIED_REFRESH_FAILURES = [
  'malformed',
  'unavailable',
  'timeout',
  'network-error',
  'rate-limited',
] as const;

/** Runs that stopped before anything worth reporting: the next run does the work. Never alerted. */
export const SKIPPED_REFRESH_OUTCOMES = [
  'not-due',
  'busy',
  /** The lease was about to lapse before a write or the grant: nothing more was written. */
  'lease-lapsing',
  /** Another writer took the lease over (fencing): this one wrote nothing more. */
  'lease-lost',
  /** This writer's clock is too far from AWS's: it refused to take the lease or to write. */
  'clock-skew',
  /**
   * ServiceNow refused the refresh token while an earlier writer's grant was unanswered: that grant
   * may have rotated it, and its writer stores the successor. The next run reads the credentials again.
   */
  'rotation-in-flight',
] as const;

/** The failures the refresh report alerts on (and closes once a refresh works again). */
export const REFRESH_FAILURES = [...REFRESH_FAILURES_NEEDING_A_PERSON, ...RETRIED_REFRESH_FAILURES] as const;
export type RefreshFailure = (typeof REFRESH_FAILURES)[number];

export const REFRESH_OUTCOMES = [
  ...HEALTHY_REFRESH_OUTCOMES,
  ...REFRESH_FAILURES,
  ...SKIPPED_REFRESH_OUTCOMES,
] as const;
export type RefreshOutcome = (typeof REFRESH_OUTCOMES)[number];

/** What `lastOutcome` in the state table holds: a refresh's outcome, or the CLI's new credentials. */
export const RECORDED_OUTCOMES = [...REFRESH_OUTCOMES, 'bootstrapped'] as const;
export type RecordedOutcome = (typeof RECORDED_OUTCOMES)[number];

/** Recorded outcomes after which a valid token is stored. */
export const HEALTHY_RECORDED_OUTCOMES: readonly RecordedOutcome[] = [
  ...HEALTHY_REFRESH_OUTCOMES,
  'bootstrapped',
];

/** Outcomes only a sync job's refresh request has (lambda/refresher/refresh-request.ts). */
export const REQUEST_OUTCOMES = [
  /** The stored token is not the one the caller saw: it reads the secret again; nothing was spent. */
  'token-changed',
  /** The instance's refresh requests for this minute are spent; the schedule keeps refreshing. */
  'request-limited',
] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/** The `outcome` of each result in the refresher's reply. */
export const REFRESH_REPLY_OUTCOMES = [...REFRESH_OUTCOMES, ...REQUEST_OUTCOMES] as const;
export type RefreshReplyOutcome = (typeof REFRESH_REPLY_OUTCOMES)[number];

/**
 * Replies after which the refresher keeps trying by itself: ServiceNow's passing failures, and a
 * spent request limit. The caller may simply try again in a minute.
 */
export const TRANSIENT_REPLY_OUTCOMES: readonly RefreshReplyOutcome[] = [
  ...TRANSIENT_OUTCOME_KINDS,
  'request-limited',
];
