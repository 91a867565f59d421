/**
 * The CloudWatch namespace of every metric the functions emit. A module of its own so that the
 * construct, which names it in alarms and the dashboard, does not load Powertools at synth.
 */
export const METRICS_NAMESPACE = 'ServiceNowTokenRefresher';
