import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { Alerts, DEFAULT_ALERT_SETTINGS } from './alerts/alerts';
import { DynamoIncidentStore } from './alerts/incident-store';
import type { DeploymentFacts } from './alerts/messages';
import { AwsNotifier } from './alerts/notifier';
import type { Clock } from './clock';
import type { Logger } from './logger';
import * as z from './zod';

const positive = z.coerce.number().check(z.positive());

/** The alerting variables every function shares; validated with the rest of its environment. */
export const alertingEnvironmentSchema = z.object({
  STATE_TABLE_NAME: z.string().check(z.minLength(1)),
  ALERT_TOPIC_ARN: z.string().check(z.startsWith('arn:', 'must be the alert topic ARN')),
  EVENT_BUS_NAME: z._default(z.string().check(z.minLength(1)), 'default'),
  GRACE_PERIOD_SECONDS: z._default(positive, 900),
  REMINDER_HOURS: z._default(positive, 24),
  /** Empty or unset: no runbook link, the emails' own steps are all there is. */
  RUNBOOK_URL: z.optional(
    z.union([z.literal(''), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })]),
  ),
  CLI_NAME: z._default(z.string().check(z.minLength(1)), DEFAULT_ALERT_SETTINGS.cli),
  /** Named in every email, with the account and region (by default those of the alert topic). */
  STACK_NAME: z._default(z.string().check(z.minLength(1)), '(stack not set)'),
  STACK_ACCOUNT: z.optional(z.string()),
  STACK_REGION: z.optional(z.string()),
});

export type AlertingEnvironment = z.output<typeof alertingEnvironmentSchema>;

/** Builds the alerting pieces once per execution environment. */
export function createAlerting(
  env: AlertingEnvironment,
  deps: {
    readonly dynamo: DynamoDBClient;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly owner?: string;
  },
) {
  const notifier = new AwsNotifier({
    sns: new SNSClient({}),
    events: new EventBridgeClient({}),
    topicArn: env.ALERT_TOPIC_ARN,
    busName: env.EVENT_BUS_NAME,
  });
  const incidents = new DynamoIncidentStore(deps.dynamo, env.STATE_TABLE_NAME);
  const alerts = new Alerts({
    store: incidents,
    notifier,
    clock: deps.clock,
    logger: deps.logger,
    owner: deps.owner ?? `fn/${randomUUID()}`,
    settings: {
      ...DEFAULT_ALERT_SETTINGS,
      reminderMs: env.REMINDER_HOURS * 3_600_000,
      cli: env.CLI_NAME,
      ...(env.RUNBOOK_URL && { runbook: env.RUNBOOK_URL }),
      deployment: deploymentFacts(env),
    },
  });
  return { notifier, incidents, alerts, graceMs: env.GRACE_PERIOD_SECONDS * 1000 };
}

/** The stack, account and region emails name; the account and region default to the alert topic's. */
export function deploymentFacts(
  env: Pick<AlertingEnvironment, 'STACK_NAME' | 'STACK_ACCOUNT' | 'STACK_REGION' | 'ALERT_TOPIC_ARN'>,
): DeploymentFacts {
  // arn:partition:sns:region:account:name
  const [, , , region, account] = env.ALERT_TOPIC_ARN.split(':');
  return {
    stackName: env.STACK_NAME,
    account: env.STACK_ACCOUNT || account || 'unknown',
    region: env.STACK_REGION || region || 'unknown',
  };
}
