import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TokenFunction } from './token-function';

export interface OperationalAlarmsProps {
  /** Keyed by a kebab-case name used in the alarm names, e.g. "expiry-watch". */
  readonly functions: Readonly<Record<string, TokenFunction>>;
  readonly failedInvocations: sqs.IQueue;
  readonly topic: sns.ITopic;
  /** e.g. "servicenow-token" */
  readonly alarmNamePrefix: string;
}

/**
 * Alarms on the machinery itself, all to the alert topic on alarm and on recovery: each function's
 * errors and throttles, and any failed scheduled run waiting in the failed-invocations queue.
 * (The per-instance dead-man's switch lives with the instance's secrets.)
 */
export class OperationalAlarms extends Construct {
  constructor(scope: Construct, id: string, props: OperationalAlarmsProps) {
    super(scope, id);
    const action = new SnsAction(props.topic);
    // Any occurrence alarms: one error, throttle or failed run is worth a look.
    const alarm = (
      alarmId: string,
      options: Pick<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription' | 'metric'>,
    ) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        ...options,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
    };
    const fiveMinutes = { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) };

    for (const [name, fn] of Object.entries(props.functions)) {
      const where = `Its log group ${fn.logGroup.logGroupName} says why; failed scheduled runs are also in the failed-invocations queue.`;
      alarm(`${fn.node.id}Errors`, {
        alarmName: `${props.alarmNamePrefix}-${name}-errors`,
        alarmDescription: `The ${name} function failed in the last 5 minutes. ${where}`,
        metric: fn.function.metricErrors(fiveMinutes),
      });
      alarm(`${fn.node.id}Throttles`, {
        alarmName: `${props.alarmNamePrefix}-${name}-throttles`,
        alarmDescription: `The ${name} function was throttled in the last 5 minutes. ${where}`,
        metric: fn.function.metricThrottles(fiveMinutes),
      });
    }
    alarm('FailedInvocations', {
      alarmName: `${props.alarmNamePrefix}-failed-invocations`,
      alarmDescription:
        'A scheduled run failed after its retries and was recorded in the failed-invocations queue. Read the message for the error, then purge the queue.',
      metric: props.failedInvocations.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
    });
  }
}
