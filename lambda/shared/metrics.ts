import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

import { METRICS_NAMESPACE } from './metrics-namespace';

export { METRICS_NAMESPACE };

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

/** Per-instance figures for the dashboard and alarms, as embedded metric format log lines (no API calls). */
export interface InstanceMetrics {
  emit(instance: string, values: Partial<Record<MetricName, number>>): void;
}

export function createInstanceMetrics(serviceName = 'servicenow-token-refresher'): InstanceMetrics {
  const metrics = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
    serviceName,
  });
  return {
    emit(instance, values) {
      const entries = Object.entries(values).filter(([, v]) => v !== undefined && Number.isFinite(v));
      if (entries.length === 0) return;
      metrics.addDimension('instance', instance);
      for (const [name, value] of entries)
        metrics.addMetric(name, UNITS[name as MetricName], value as number);
      metrics.publishStoredMetrics();
    },
  };
}
