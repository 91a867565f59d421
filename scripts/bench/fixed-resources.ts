import { stackFromConfig, templates, testApp } from '../../harness/cdk/synth';
import { parseDeploymentConfig } from '../../lib/deployment-config';
import type { FixedResources } from './cost-model';

/** What bills by the month, counted in the templates of a deployment with `instances` instances. */
function countResources(instances: number, options: Record<string, unknown>) {
  const config = parseDeploymentConfig(
    {
      instances: Array.from({ length: instances }, (_, i) => ({
        name: `bench-${i}`,
        url: `https://bench-${i}.service-now.com`,
      })),
      operatorPrincipalArns: ['arn:aws:iam::123456789012:role/ServiceNowTokenOperator'],
      ...options,
    },
    'bench',
  );
  const { parent, nested } = templates(stackFromConfig(testApp(), config));
  const count = (type: string) =>
    [parent, ...nested].reduce((n, t) => n + Object.keys(t.findResources(type)).length, 0);
  return {
    secrets: count('AWS::SecretsManager::Secret'),
    alarms: count('AWS::CloudWatch::Alarm'),
    keys: count('AWS::KMS::Key'),
    dashboards: count('AWS::CloudWatch::Dashboard'),
  };
}

/**
 * The monthly resources of the configuration's defaults (or `options` over them), read from the
 * synthesized templates of one and of two instances: what the second adds is per instance, the
 * rest is shared. Custom metrics are not resources; `metrics` says what the functions publish.
 */
export function fixedResources(
  metrics: { readonly shared: number; readonly perInstance: number },
  options: Record<string, unknown> = {},
): FixedResources {
  const one = countResources(1, options);
  const two = countResources(2, options);
  const per = (key: keyof typeof one) => two[key] - one[key];
  return {
    secretsPerInstance: per('secrets'),
    metricsPerInstance: metrics.perInstance,
    sharedMetrics: metrics.shared,
    alarmsPerInstance: per('alarms'),
    sharedAlarms: one.alarms - per('alarms'),
    sharedKmsKeys: one.keys - per('keys'),
    sharedDashboards: one.dashboards - per('dashboards'),
  };
}
