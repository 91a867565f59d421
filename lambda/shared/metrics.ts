import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

import { METRICS } from './deployment-contract';

export { METRICS };

export type MetricName =
  | 'RefreshSuccess'
  | 'RefreshFailure'
  | 'ProbeSuccess'
  | 'ProbeFailure'
  | 'ProbeLatency'
  | 'AccessTokenSecondsRemaining'
  | 'RefreshTokenDaysRemaining';

const UNITS: Record<MetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  RefreshSuccess: MetricUnit.Count,
  RefreshFailure: MetricUnit.Count,
  ProbeSuccess: MetricUnit.Count,
  ProbeFailure: MetricUnit.Count,
  ProbeLatency: MetricUnit.Milliseconds,
  AccessTokenSecondsRemaining: MetricUnit.Seconds,
  RefreshTokenDaysRemaining: MetricUnit.Count,
};

/**
 * Which of the detail figures (the names above) are published. Each one is a billed custom metric
 * per dimension set: `fleet` once for all instances (dimension `service`), `instance` once per
 * instance (`service` and `instance`). The dead-man's metric is published whatever this says.
 */
export interface MetricScope {
  readonly fleet: boolean;
  readonly instance: boolean;
}

/** The construct's default: only what an alarm reads (the dead-man's metric). */
export const ALARM_METRICS_ONLY: MetricScope = { fleet: false, instance: false };

/** Figures for the dashboard and the alarms, as embedded metric format log lines (no API calls). */
export interface InstanceMetrics {
  emit(instance: string, values: Partial<Record<MetricName, number>>): void;
  /** The dead-man's switch reading: instances without a new access token for the dead-man period. */
  silentInstances(count: number): void;
}

/** The scope as the construct sets it in the environment (METRICS_FLEET, METRICS_PER_INSTANCE). */
export function metricScopeFrom(env: NodeJS.ProcessEnv): MetricScope {
  return { fleet: env.METRICS_FLEET === 'true', instance: env.METRICS_PER_INSTANCE === 'true' };
}

export function createInstanceMetrics(scope: MetricScope = ALARM_METRICS_ONLY): InstanceMetrics {
  const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
  return {
    emit(instance, values) {
      if (!scope.fleet && !scope.instance) return;
      const entries = Object.entries(values).filter(([, v]) => v !== undefined && Number.isFinite(v));
      if (entries.length === 0) return;
      // One line, one or two dimension sets: {service} aggregates the fleet, {service, instance}
      // keeps one series per instance.
      if (scope.fleet) metrics.addDimensions({});
      if (scope.instance) metrics.addDimensions({ instance });
      for (const [name, value] of entries)
        metrics.addMetric(name, UNITS[name as MetricName], value as number);
      metrics.publishStoredMetrics();
    },
    silentInstances(count) {
      metrics.addMetric(METRICS.deadMan.metricName, MetricUnit.Count, count);
      metrics.publishStoredMetrics();
    },
  };
}
