import { flagged } from '../closed-set';

/**
 * Every call to ServiceNow ends in exactly one of these outcomes. Callers switch on `kind`; nothing
 * a ServiceNow instance (or the network in front of it) can do escapes as an unclassified exception.
 */
export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly status: number }
  /**
   * The token endpoint refused the grant: ServiceNow's opaque 401 (expired or revoked refresh
   * token, wrong secret, bad user...), or a gateway's RFC 6749 §5.2 error, which names its reason.
   */
  | {
      readonly kind: 'rejected';
      readonly status: number;
      /** Set only for an RFC 6749 error answer (ServiceNow's own 401 says `server_error`). */
      readonly oauthError?: OAuthErrorCode;
      /** The answer's `error_description`, scrubbed of secrets. */
      readonly description?: string;
    }
  /** A REST API 401: the bearer token is missing, expired or revoked. */
  | { readonly kind: 'unauthorized'; readonly status: number; readonly message: string }
  /** A REST API 403: the integration user lacks a role, or an ACL denies it. */
  | { readonly kind: 'forbidden'; readonly status: number; readonly message: string }
  | {
      readonly kind: 'rate-limited';
      readonly status: number;
      /** Seconds from the Retry-After header, when ServiceNow sent one. */
      readonly retryAfterSeconds: number | undefined;
      readonly limit: number | undefined;
      /** When the hourly window resets (ms since the epoch), from X-RateLimit-Reset. */
      readonly resetAt: number | undefined;
      readonly rule: string | undefined;
      /**
       * The earliest time (ms since the epoch) another request to this instance can succeed, from
       * Retry-After (delay-seconds or HTTP-date) or else X-RateLimit-Reset; at most an hour ahead.
       */
      readonly retryAt: number | undefined;
    }
  | {
      readonly kind: 'unavailable';
      readonly reason: UnavailableReason;
      readonly status: number;
      readonly detail: string;
      /** From a 503's Retry-After: no request before this time (ms since the epoch). */
      readonly retryAt?: number;
    }
  | { readonly kind: 'timeout'; readonly phase: 'connect' | 'headers' | 'body' | 'overall' }
  | { readonly kind: 'network-error'; readonly code: string; readonly detail: string }
  /** An answer we cannot use: not the JSON we expect, too large, or an unexpected 4xx. */
  | { readonly kind: 'malformed'; readonly status: number; readonly detail: string };

/** Why an instance is unavailable, as its answer shows. */
export const UNAVAILABLE_REASONS = [
  /** A developer instance's "Your instance is hibernating" page (200, 302 or 503). */
  'hibernating',
  /** "Your instance is currently offline": waking up, or in maintenance. */
  'offline',
  /** Some other non-JSON page where JSON was expected (a proxy, an SSO login page...). */
  'html',
  /** A redirect to somewhere else; never followed, so a bearer token never leaves the instance. */
  'redirect',
  /** 5xx with no hibernation page. */
  'server-error',
] as const;
export type UnavailableReason = (typeof UNAVAILABLE_REASONS)[number];

/** RFC 6749 §5.2 error codes that mean the grant itself was refused. */
export const REFUSED_GRANT_ERRORS = [
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
] as const;
export type OAuthErrorCode = (typeof REFUSED_GRANT_ERRORS)[number];

export type OutcomeKind = Outcome<unknown>['kind'];
export type FailedOutcome = Exclude<Outcome<unknown>, { kind: 'ok' }>;

/**
 * Which failures are worth retrying soon (the same request may well work in a few seconds) and
 * which are not: every kind is placed, so a new kind does not compile until it is.
 */
const TRANSIENT = {
  unavailable: true,
  timeout: true,
  'network-error': true,
  'rate-limited': true,
  rejected: false,
  unauthorized: false,
  forbidden: false,
  malformed: false,
} as const satisfies Record<FailedOutcome['kind'], boolean>;

/** Failures worth retrying soon: the same request may well work in a few seconds. */
export const TRANSIENT_OUTCOME_KINDS = flagged(TRANSIENT);
export type TransientOutcomeKind = (typeof TRANSIENT_OUTCOME_KINDS)[number];

export function isTransient(outcome: FailedOutcome): boolean {
  return TRANSIENT[outcome.kind];
}

/** One line for logs and alerts. Never contains a token: outcomes carry none. */
export function describeOutcome(outcome: FailedOutcome): string {
  switch (outcome.kind) {
    case 'rejected':
      return outcome.oauthError
        ? `the token endpoint refused the grant (HTTP ${outcome.status}, ${outcome.oauthError}${outcome.description ? `: ${outcome.description}` : ''})`
        : `the token endpoint refused the grant (HTTP ${outcome.status}, access_denied)`;
    case 'unauthorized':
      return `ServiceNow refused the access token (HTTP ${outcome.status}: ${outcome.message})`;
    case 'forbidden':
      return `ServiceNow denied access (HTTP ${outcome.status}: ${outcome.message})`;
    case 'rate-limited':
      return `rate limited (HTTP ${outcome.status}${outcome.retryAfterSeconds === undefined ? '' : `, retry after ${outcome.retryAfterSeconds} s`}${outcome.rule ? `, rule ${outcome.rule}` : ''})`;
    case 'unavailable':
      return `instance unavailable: ${outcome.reason} (HTTP ${outcome.status}: ${outcome.detail})`;
    case 'timeout':
      return `timed out waiting for ${outcome.phase === 'overall' ? 'the whole request' : outcome.phase}`;
    case 'network-error':
      return `network error ${outcome.code}: ${outcome.detail}`;
    case 'malformed':
      return `unusable answer (HTTP ${outcome.status}): ${outcome.detail}`;
  }
}
