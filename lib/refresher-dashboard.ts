import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../lambda/shared/deployment-contract';
import type { MetricName } from '../lambda/shared/metrics';

export interface RefresherDashboardProps {
  readonly dashboardName: string;
  readonly functions: readonly lambda.IFunction[];
  readonly failedInvocations: sqs.IQueue;
  /**
   * One line per instance (the functions publish per-instance metrics), or one line for the
   * whole fleet (they publish fleet figures only: the minimum, sum or p90 over all instances).
   */
  readonly perInstance: boolean;
  /** Shown at the top, with their state. @default - none */
  readonly alarms?: readonly cloudwatch.IAlarm[];
  /** The functions' log groups, for the view of the last failures. @default - no log view */
  readonly logGroups?: readonly logs.ILogGroup[];
}

/** The last warnings and errors the functions logged (Powertools JSON: level, message, instance). */
export const LAST_FAILURES_QUERY = [
  'fields @timestamp, level, instance, message, error',
  "filter level in ['ERROR', 'WARN', 'CRITICAL']",
  'sort @timestamp desc',
  'limit 50',
];

/**
 * With per-instance metrics, one line per instance on every per-instance graph, through CloudWatch
 * SEARCH expressions: the dashboard's size does not grow with the number of instances (200
 * instances x 5 metrics as explicit metrics would pass the 500-metrics-per-widget limit), and a new
 * instance appears on its own once it emits. Without them, one fleet line per graph (the worst
 * instance for the countdowns), and the dead-man's reading says how many instances are silent.
 */
export class RefresherDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RefresherDashboardProps) {
    super(scope, id);
    const perInstance = (metric: MetricName, statistic: string, period: Duration): cloudwatch.IMetric =>
      props.perInstance
        ? new cloudwatch.SearchExpression({
            expression: `SEARCH('{${METRICS.namespace},instance,service} MetricName="${metric}"', '${statistic}', ${period.toSeconds()})`,
            label: '',
            period,
          })
        : new cloudwatch.Metric({
            namespace: METRICS.namespace,
            metricName: metric,
            dimensionsMap: { service: METRICS.service },
            statistic,
            period,
            label: 'all instances',
          });
    const graph = (title: string, metrics: cloudwatch.IMetric[], unit?: string) =>
      new cloudwatch.GraphWidget({
        title,
        left: metrics,
        width: 12,
        height: 6,
        leftYAxis: unit ? { label: unit, showUnits: false, min: 0 } : { min: 0 },
        legendPosition: cloudwatch.LegendPosition.RIGHT,
      });
    const hour = Duration.hours(1);
    const fiveMinutes = Duration.minutes(5);

    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(7),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# ServiceNow token refresher\n${props.perInstance ? 'One line per instance.' : 'One line for all instances (the lowest for days left and seconds remaining); per-instance lines need the perInstanceMetrics option.'} **Days left** is the refresh token's remaining life: run \`snow-token renew <instance>\` before it reaches 0. **Seconds remaining** is the stored access token's.`,
            width: 24,
            height: 2,
          }),
        ],
        ...(props.alarms?.length
          ? [
              [
                new cloudwatch.AlarmStatusWidget({
                  title: 'Alarms',
                  alarms: [...props.alarms],
                  width: 24,
                  height: 3,
                  sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
                }),
              ],
            ]
          : []),
        [
          graph(
            'Refresh token days left',
            [perInstance('RefreshTokenDaysRemaining', 'Minimum', hour)],
            'days',
          ),
          graph(
            'Access token seconds remaining',
            [perInstance('AccessTokenSecondsRemaining', 'Minimum', fiveMinutes)],
            'seconds',
          ),
        ],
        [
          graph('Refresh success (per hour)', [perInstance('RefreshSuccess', 'Sum', hour)]),
          graph('Refresh failure (per hour)', [perInstance('RefreshFailure', 'Sum', hour)]),
        ],
        [
          graph('Probe success (per hour)', [perInstance('ProbeSuccess', 'Sum', hour)]),
          graph('Probe failure (per hour)', [perInstance('ProbeFailure', 'Sum', hour)]),
        ],
        [
          graph('Probe latency p90', [perInstance('ProbeLatency', 'p90', fiveMinutes)], 'ms'),
          graph(
            'Function errors and throttles',
            props.functions.flatMap((fn) => [
              fn.metricErrors({ period: fiveMinutes, label: `${fn.node.scope?.node.id} errors` }),
              fn.metricThrottles({ period: fiveMinutes, label: `${fn.node.scope?.node.id} throttles` }),
            ]),
          ),
        ],
        [
          graph('Instances without a new token for the dead-man period', [
            new cloudwatch.Metric({
              namespace: METRICS.namespace,
              metricName: METRICS.deadMan.metricName,
              dimensionsMap: { ...METRICS.deadMan.dimensions },
              statistic: 'Maximum',
              period: fiveMinutes,
            }),
          ]),
          graph('Failed scheduled runs waiting in the queue', [
            props.failedInvocations.metricApproximateNumberOfMessagesVisible({
              period: fiveMinutes,
              statistic: 'Maximum',
            }),
          ]),
        ],
        ...(props.logGroups?.length
          ? [
              [
                new cloudwatch.LogQueryWidget({
                  title: 'Last failures (warnings and errors the functions logged)',
                  logGroupNames: props.logGroups.map((g) => g.logGroupName),
                  queryLines: LAST_FAILURES_QUERY,
                  view: cloudwatch.LogQueryVisualizationType.TABLE,
                  width: 24,
                  height: 8,
                }),
              ],
            ]
          : []),
      ],
    });
  }
}
