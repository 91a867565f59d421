import type { AwsPrices } from './aws-prices';

const DAYS_PER_MONTH = 30;

/**
 * What one simulated day cost in calls and compute, split into what every deployment pays once
 * (the schedules' invocations) and what each instance adds. Measured by the bench (calls.ts).
 */
export interface DailyUsage {
  /** Scheduled invocations per day, whatever the number of instances. */
  readonly invocations: number;
  /** Billed GB-seconds per day paid once (each invocation's minimum), at the functions' memory. */
  readonly sharedGbSeconds: number;
  readonly perInstance: {
    readonly gbSeconds: number;
    readonly secretsManagerCalls: number;
    readonly dynamoReadUnits: number;
    readonly dynamoWriteUnits: number;
    readonly snsPublishes: number;
    readonly emails: number;
    readonly events: number;
    readonly logBytes: number;
  };
  /** Log bytes per day paid once (platform lines of every invocation). */
  readonly sharedLogBytes: number;
}

/** Resources that bill by the month, from the construct (lib/). */
export interface FixedResources {
  readonly secretsPerInstance: number;
  readonly metricsPerInstance: number;
  /** Custom metrics without an instance dimension, e.g. the dead-man's reading. */
  readonly sharedMetrics: number;
  readonly alarmsPerInstance: number;
  readonly sharedAlarms: number;
  readonly sharedKmsKeys: number;
  readonly sharedDashboards: number;
}

export interface CostLine {
  readonly item: string;
  /** USD per month for the whole deployment. */
  readonly total: number;
  /** USD per instance-month: total / instances. */
  readonly perInstance: number;
}

export interface CostEstimate {
  readonly instances: number;
  readonly lines: readonly CostLine[];
  readonly totalPerMonth: number;
  readonly perInstanceMonth: number;
}

/** Monthly cost of `instances` instances at the measured daily usage; largest lines first. */
export function estimateMonthlyCost(
  usage: DailyUsage,
  fixed: FixedResources,
  prices: AwsPrices,
  instances: number,
): CostEstimate {
  const n = instances;
  const month = (perDay: number) => perDay * DAYS_PER_MONTH;
  const p = usage.perInstance;
  const raw: [string, number][] = [
    ['Secrets Manager: secrets', n * fixed.secretsPerInstance * prices.secretsManager.perSecretMonth],
    ['Secrets Manager: API calls', month(n * p.secretsManagerCalls) * prices.secretsManager.perApiCall],
    [
      'CloudWatch: custom metrics',
      (n * fixed.metricsPerInstance + fixed.sharedMetrics) * prices.cloudWatch.perMetricMonth,
    ],
    [
      'CloudWatch: alarms',
      (n * fixed.alarmsPerInstance + fixed.sharedAlarms) * prices.cloudWatch.perStandardAlarmMonth,
    ],
    ['CloudWatch: dashboard', fixed.sharedDashboards * prices.cloudWatch.perDashboardMonth],
    [
      'CloudWatch: log ingestion',
      (month(usage.sharedLogBytes + n * p.logBytes) / 1024 ** 3) * prices.cloudWatch.perLogGbIngested,
    ],
    ['KMS: alert topic key', fixed.sharedKmsKeys * prices.kms.perCustomerManagedKeyMonth],
    ['Lambda: requests', month(usage.invocations) * prices.lambdaArm64.perRequest],
    [
      'Lambda: compute (GB-s)',
      month(usage.sharedGbSeconds + n * p.gbSeconds) * prices.lambdaArm64.perGbSecond,
    ],
    [
      'DynamoDB: requests',
      month(n * p.dynamoReadUnits) * prices.dynamoDbOnDemand.perReadRequestUnit +
        month(n * p.dynamoWriteUnits) * prices.dynamoDbOnDemand.perWriteRequestUnit,
    ],
    [
      'SNS: publishes and emails',
      month(n * p.snsPublishes) * prices.sns.perPublish + month(n * p.emails) * prices.sns.perEmail,
    ],
    ['EventBridge: events', month(n * p.events) * prices.eventBridge.perCustomEvent],
  ];
  const lines = raw
    .map(([item, total]) => ({ item, total, perInstance: total / n }))
    .sort((a, b) => b.total - a.total);
  const totalPerMonth = lines.reduce((sum, line) => sum + line.total, 0);
  return { instances: n, lines, totalPerMonth, perInstanceMonth: totalPerMonth / n };
}
