import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS } from '../lambda/shared/deployment-contract';
import { runbookReference } from './operational-alarms';

export interface DeadManSwitchProps {
  readonly topic: sns.ITopic;
  /** How long an instance may go without a new access token before it counts as silent. */
  readonly deadManPeriod: Duration;
  /** How often the probe, which takes the reading, runs. */
  readonly probeInterval: Duration;
  /** e.g. "servicenow-token" */
  readonly alarmNamePrefix: string;
  /** @default - descriptions name docs/runbook.md */
  readonly runbookUrl?: string;
}

/**
 * The dead-man's switch for the whole fleet, at the price of one metric and two alarms whatever
 * the number of instances. The probe reads each stored token's `refreshedAt` on every run and
 * publishes how many instances have had no new token for the dead-man period
 * (`METRICS.deadMan`); one silent instance among two hundred makes it 1. The second alarm
 * watches the reading itself: a probe that stops publishing leaves nobody watching, and that
 * silence is a failure of its own.
 */
export class DeadManSwitch extends Construct {
  /** Fires when at least one instance has had no new access token for the dead-man period. */
  readonly silentInstancesAlarm: cloudwatch.Alarm;
  /** Fires when no dead-man reading arrived for the dead-man period. */
  readonly noReadingAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadManSwitchProps) {
    super(scope, id);
    const action = new SnsAction(props.topic);
    const period = props.deadManPeriod.toHumanString();
    const reading = (statistic: string, metricPeriod: Duration) =>
      new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName: METRICS.deadMan.metricName,
        dimensionsMap: { ...METRICS.deadMan.dimensions },
        statistic,
        period: metricPeriod,
      });

    this.silentInstancesAlarm = new cloudwatch.Alarm(this, 'SilentInstancesAlarm', {
      alarmName: `${props.alarmNamePrefix}-no-refresh`,
      alarmDescription: `At least one instance has had no new access token for ${period}: its sync jobs will soon (or already) hold an expired token. The probe's log names each one ("dead-man: no new access token"); the state table item of that instance says what the refresher last saw. ${runbookReference(props.runbookUrl, 'alarm-no-refresh')}`,
      metric: reading(cloudwatch.Stats.MAXIMUM, props.probeInterval),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // A probe run that lands in the next period must not flap the alarm; the other alarm below
      // answers for a reading that stops altogether.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.noReadingAlarm = new cloudwatch.Alarm(this, 'NoReadingAlarm', {
      alarmName: `${props.alarmNamePrefix}-dead-man-silent`,
      alarmDescription: `The probe has published no dead-man reading (${METRICS.deadMan.metricName}) for ${period}, so nothing is watching whether access tokens are refreshed. Check that the probe function runs on its schedule and see its log group. ${runbookReference(props.runbookUrl, 'alarm-no-refresh')}`,
      metric: reading(cloudwatch.Stats.SAMPLE_COUNT, props.deadManPeriod),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // A probe that never runs emits nothing: silence is the failure this alarm exists for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    for (const alarm of [this.silentInstancesAlarm, this.noReadingAlarm]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
