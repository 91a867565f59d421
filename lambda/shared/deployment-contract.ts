/**
 * The facts the construct (lib/), the functions and the CLI must agree on, defined once. The
 * construct validates its props and alarms with these; the functions validate what they load and
 * emit with them; the CLI checks with them. Plain data and arithmetic, so the construct can import
 * it at synth without loading the functions' dependencies (zod, Powertools).
 */

/**
 * Instance names: one segment of the secret names (`<prefix><name>/credentials`) and the state
 * table's key, so never renamed. Lower-case letters, digits and dashes, up to 63 characters.
 */
export const INSTANCE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const INSTANCE_NAME_RULE = 'use lower-case letters, digits and dashes, e.g. "acme-prod"';

/**
 * Names of the tools a refresh token is handed to (`snow-token handoff --to exalate`): one segment
 * of a secret name too (`<prefix><instance>/consumer-<name>`), so the same rule as instance names.
 */
export const CONSUMER_NAME_PATTERN = INSTANCE_NAME_PATTERN;

/** The probe's GET: a REST API path on the instance, never a page or another host. */
export const PROBE_PATH_PATTERN = /^\/api\//;
export const PROBE_PATH_RULE =
  'use a REST API path on the instance, e.g. "/api/now/table/sys_user?sysparm_limit=1"';

/** Days before the refresh token's (or certificate's) end at which the expiry watch warns. */
export const DEFAULT_EXPIRY_WARNING_DAYS: readonly number[] = [30, 14, 7, 3, 1];
/** At most this many warning days, none further ahead than `maxDay`. */
export const EXPIRY_WARNING_DAYS_LIMITS = { maxDay: 365, maxCount: 10 } as const;

/**
 * The access-token lifespans (seconds) an instance's Application Registry record may declare:
 * ServiceNow's default is 1800; shorter than 300 leaves no room to refresh ahead, and no token is
 * ever stored as living longer than a day.
 */
export const ACCESS_TOKEN_LIFESPAN_SECONDS = { min: 300, max: 86_400, serviceNowDefault: 1800 } as const;

/** The refresher's schedule by default: it runs every minute and refreshes 5 minutes before a token's end. */
export const DEFAULT_SCHEDULE = { intervalSeconds: 60, refreshAheadSeconds: 300 } as const;

/**
 * The shortest access-token lifespan the refresher keeps up with: it refreshes `refreshAhead`
 * before the end and runs once per schedule interval, so a token must outlive two of the first
 * and one of the second, and never less than 15 minutes. Shorter, and the expiry watch alerts.
 */
export function minimumAccessTokenLifespanSeconds(settings: {
  readonly refreshAheadSeconds: number;
  readonly scheduleIntervalSeconds: number;
}): number {
  return Math.max(900, 2 * settings.refreshAheadSeconds + settings.scheduleIntervalSeconds);
}

/** The `service` dimension of every metric, and the service name of every log line. */
const SERVICE_NAME = 'servicenow-token-refresher';

/**
 * The one wiring of every custom metric: the functions emit with it, the construct alarms on it and
 * graphs it. Change it here, and both sides follow.
 */
export const METRICS = {
  namespace: 'ServiceNowTokenRefresher',
  /** The `service` dimension of every metric (and the Powertools service name). */
  service: SERVICE_NAME,
  /**
   * The dead-man's switch: how many instances the probe found without a new access token for
   * the dead-man period, emitted on every probe run with the `service` dimension only, so its
   * price is one metric whatever the number of instances.
   */
  deadMan: { metricName: 'SilentInstances', dimensions: { service: SERVICE_NAME } },
} as const;
