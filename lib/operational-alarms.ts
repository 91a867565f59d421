import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TokenFunction } from './token-function';

/** "Runbook: <url>#<anchor>", or where the runbook ships when no URL is configured. */
export function runbookReference(runbookUrl: string | undefined, anchor: string): string {
  return runbookUrl
    ? `Runbook: ${runbookUrl}#${anchor}`
    : `Runbook: docs/runbook.md#${anchor} in the servicenow-token-refresher package.`;
}

export interface OperationalAlarmsProps {
  /** Keyed by a kebab-case name used in the alarm names, e.g. "expiry-watch". */
  readonly functions: Readonly<Record<string, TokenFunction>>;
  readonly failedInvocations: sqs.IQueue;
  readonly topic: sns.ITopic;
  /** Unique in the account and region: the stack name and the secret prefix, e.g. "Tokens-servicenow-token". */
  readonly alarmNamePrefix: string;
  /** @default - descriptions name docs/runbook.md */
  readonly runbookUrl?: string;
}

/**
 * Alarms on the machinery itself, all to the alert topic on alarm and on recovery: each function's
 * errors and throttles, and any failed scheduled run waiting in the failed-invocations queue.
 * (The per-instance dead-man's switch lives with the instance's secrets.)
 */
export class OperationalAlarms extends Construct {
  /** Every alarm here, for routing elsewhere (an incident tool, a composite alarm). */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: OperationalAlarmsProps) {
    super(scope, id);
    const action = new SnsAction(props.topic);
    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (
      alarmId: string,
      options: Pick<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription' | 'metric'> &
        Pick<cloudwatch.AlarmProps, 'evaluationPeriods' | 'datapointsToAlarm'>,
    ) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        ...options,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      alarms.push(created);
    };
    const fiveMinutes = { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) };
    // A single failed or throttled run is a blip the next scheduled run repairs (the refresher runs
    // every minute, the probe every 5, the watch retries): alarm when it happens in 2 of 3 periods.
    const notABlip = { evaluationPeriods: 3, datapointsToAlarm: 2 };

    for (const [name, fn] of Object.entries(props.functions)) {
      const where = `Its log group ${fn.logGroup.logGroupName} says why (the dashboard shows the last failures); failed scheduled runs are also in the failed-invocations queue.`;
      alarm(`${fn.node.id}Errors`, {
        alarmName: `${props.alarmNamePrefix}-${name}-errors`,
        alarmDescription: `The ${name} function failed in 2 of the last 3 five-minute periods. ${where} ${runbookReference(props.runbookUrl, 'alarm-function-errors')}`,
        metric: fn.function.metricErrors(fiveMinutes),
        ...notABlip,
      });
      alarm(`${fn.node.id}Throttles`, {
        alarmName: `${props.alarmNamePrefix}-${name}-throttles`,
        alarmDescription: `The ${name} function was throttled in 2 of the last 3 five-minute periods. ${where} ${runbookReference(props.runbookUrl, 'alarm-function-throttles')}`,
        metric: fn.function.metricThrottles(fiveMinutes),
        ...notABlip,
      });
    }
    // A run in this queue failed after its retries: never a blip.
    alarm('FailedInvocations', {
      alarmName: `${props.alarmNamePrefix}-failed-invocations`,
      alarmDescription: `A scheduled run failed after its retries and was recorded in the failed-invocations queue. Read the message for the error, then purge the queue. ${runbookReference(props.runbookUrl, 'alarm-failed-invocations')}`,
      metric: props.failedInvocations.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
      evaluationPeriods: 1,
    });
    this.alarms = alarms;
  }
}
