import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { alertingEnvironmentSchema } from '../shared/alerting-environment';
import { systemClock } from '../shared/clock';
import { ConsumerTokenStore } from '../shared/consumers/consumer-tokens';
import { DEFAULT_EXPIRY_WARNING_DAYS, DEFAULT_SCHEDULE } from '../shared/deployment-contract';
import { functionEnvironment } from '../shared/function-environment';
import { createInstanceMetrics, metricScopeFrom } from '../shared/metrics';
import { SecretsManagerSecretStore } from '../shared/secrets/secret-store';
import { createServiceNowAgent, serviceNowClients } from '../shared/servicenow/servicenow-client';
import { DynamoStateStore } from '../shared/state/state-store';
import * as z from '../shared/zod';
import { createExpiryWatch } from './expiry-watch';

const NAME = 'The expiry-watch function';
const seconds = z.coerce.number().check(z.int(), z.positive());
// Created once per execution environment and reused by every invocation.
const { env, instances, logger, dynamo, alerting } = functionEnvironment(
  NAME,
  z.extend(alertingEnvironmentSchema, {
    SCHEDULE_INTERVAL_SECONDS: z._default(seconds, DEFAULT_SCHEDULE.intervalSeconds),
    REFRESH_AHEAD_SECONDS: z._default(seconds, DEFAULT_SCHEDULE.refreshAheadSeconds),
    EXPIRY_WARNING_DAYS: z._default(
      z.pipe(
        z.string().check(z.regex(/^\d+(,\d+)*$/, 'use comma-separated whole days, e.g. "30,14,7,3,1"')),
        z.transform((s: string) => s.split(',').map(Number)),
      ),
      [...DEFAULT_EXPIRY_WARNING_DAYS],
    ),
  }),
);
const watch = createExpiryWatch(
  {
    clock: systemClock,
    state: new DynamoStateStore(dynamo, env.STATE_TABLE_NAME),
    incidents: alerting.incidents,
    alerts: alerting.alerts,
    metrics: createInstanceMetrics(metricScopeFrom(process.env)),
    warningDays: env.EXPIRY_WARNING_DAYS,
    scheduleIntervalSeconds: env.SCHEDULE_INTERVAL_SECONDS,
    refreshAheadSeconds: env.REFRESH_AHEAD_SECONDS,
    consumerTokens: {
      store: new ConsumerTokenStore(dynamo, env.STATE_TABLE_NAME),
      secrets: new SecretsManagerSecretStore(new SecretsManagerClient({})),
      serviceNow: serviceNowClients(createServiceNowAgent(), systemClock),
      logger,
    },
    subscriptions: {
      sns: new SNSClient({}),
      topicArn: env.ALERT_TOPIC_ARN,
      publish: (events) => alerting.notifier.publish(events),
      logger,
      stackName: env.STACK_NAME,
    },
  },
  instances,
);

export const handler = async (_event: unknown, context: Context) => {
  logger.addContext(context);
  return watch();
};
