/**
 * The one wiring of every custom metric: the functions emit with it, the construct alarms on it and
 * graphs it. Change it here, and both sides follow. A module of its own so that the construct
 * does not load Powertools at synth.
 */
export const METRICS = {
  namespace: 'ServiceNowTokenRefresher',
  /** The `service` dimension of every metric (and the Powertools service name). */
  service: 'servicenow-token-refresher',
  /**
   * The dead-man's switch: how many instances the probe found without a new access token for
   * the dead-man period, emitted on every probe run with the `service` dimension only, so its
   * price is one metric whatever the number of instances.
   */
  deadMan: { metricName: 'SilentInstances', dimensions: { service: 'servicenow-token-refresher' } },
} as const;

/** The CloudWatch namespace of every metric the functions emit. */
export const METRICS_NAMESPACE = METRICS.namespace;
