import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { alertingEnvironmentSchema } from '../shared/alerting-environment';
import { systemClock } from '../shared/clock';
import { functionEnvironment } from '../shared/function-environment';
import { createInstanceMetrics, metricScopeFrom } from '../shared/metrics';
import { SecretsManagerSecretStore } from '../shared/secrets/secret-store';
import { createServiceNowAgent, serviceNowClients } from '../shared/servicenow/servicenow-client';
import { AwsClock } from '../shared/state/aws-clock';
import {
  DEFAULT_REFRESH_REQUESTS_PER_MINUTE,
  DynamoRefreshRequestLimit,
} from '../shared/state/refresh-request-limit';
import { DynamoStateStore } from '../shared/state/state-store';
import * as z from '../shared/zod';
import { DEFAULT_REFRESH_SETTINGS } from './refresh-policy';
import { createRefresher } from './refresher';

const seconds = z.coerce.number().check(z.int(), z.positive());
// Created once per execution environment and reused by every invocation.
const { env, instances, logger, dynamo, alerting } = functionEnvironment(
  'The refresher function',
  z.extend(alertingEnvironmentSchema, {
    SCHEDULE_INTERVAL_SECONDS: z._default(seconds, DEFAULT_REFRESH_SETTINGS.scheduleIntervalMs / 1000),
    REFRESH_AHEAD_SECONDS: z._default(seconds, DEFAULT_REFRESH_SETTINGS.refreshAheadMs / 1000),
    REFRESH_REQUESTS_PER_MINUTE: z._default(
      z.coerce.number().check(z.int(), z.minimum(1), z.maximum(60)),
      DEFAULT_REFRESH_REQUESTS_PER_MINUTE,
    ),
  }),
);
const agent = createServiceNowAgent();
const refresher = createRefresher(
  {
    clock: systemClock,
    logger,
    secrets: new SecretsManagerSecretStore(new SecretsManagerClient({})),
    state: new DynamoStateStore(dynamo, env.STATE_TABLE_NAME, new AwsClock(systemClock)),
    tokenEndpoint: serviceNowClients(agent, systemClock),
    settings: {
      ...DEFAULT_REFRESH_SETTINGS,
      scheduleIntervalMs: env.SCHEDULE_INTERVAL_SECONDS * 1000,
      refreshAheadMs: env.REFRESH_AHEAD_SECONDS * 1000,
    },
    owner: `refresher/${randomUUID()}`,
    reporting: {
      alerts: alerting.alerts,
      notifier: alerting.notifier,
      metrics: createInstanceMetrics(metricScopeFrom(process.env)),
      graceMs: alerting.graceMs,
    },
    // Whoever holds lambda:InvokeFunction reaches this function: per-token requests only.
    invokers: 'anyone-with-invoke',
    requestLimit: new DynamoRefreshRequestLimit(
      dynamo,
      env.STATE_TABLE_NAME,
      env.REFRESH_REQUESTS_PER_MINUTE,
    ),
  },
  instances,
);

export const handler = async (event: unknown, context: Context) => {
  logger.addContext(context);
  return refresher(event, context);
};
