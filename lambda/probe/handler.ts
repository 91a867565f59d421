import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { alertingEnvironmentSchema, createAlerting } from '../shared/alerting-environment';
import { systemClock } from '../shared/clock';
import { loadInstances, parseEnvironment } from '../shared/environment';
import { createLogger } from '../shared/logger';
import { createInstanceMetrics, metricScopeFrom } from '../shared/metrics';
import { LambdaRefreshRequester } from '../shared/refresh-requester';
import { SecretsManagerSecretStore } from '../shared/secrets/secret-store';
import { createServiceNowAgent, serviceNowClients } from '../shared/servicenow/servicenow-client';
import { DynamoStateStore } from '../shared/state/state-store';
import * as z from '../shared/zod';
import { createProber } from './prober';

const NAME = 'The probe function';
const env = parseEnvironment(
  z.extend(alertingEnvironmentSchema, {
    REFRESHER_FUNCTION_NAME: z.string().check(z.minLength(1)),
    DEAD_MAN_SECONDS: z._default(z.coerce.number().check(z.int(), z.positive()), 7200),
  }),
  process.env,
  NAME,
);
const instances = loadInstances(process.env, NAME);

// Created once per execution environment and reused by every invocation.
const logger = createLogger(process.env);
const dynamo = new DynamoDBClient({});
const alerting = createAlerting(env, { dynamo, clock: systemClock, logger });
const agent = createServiceNowAgent();
const prober = createProber(
  {
    clock: systemClock,
    logger,
    secrets: new SecretsManagerSecretStore(new SecretsManagerClient({})),
    state: new DynamoStateStore(dynamo, env.STATE_TABLE_NAME),
    incidents: alerting.incidents,
    alerts: alerting.alerts,
    metrics: createInstanceMetrics(metricScopeFrom(process.env)),
    refresher: new LambdaRefreshRequester(new LambdaClient({}), env.REFRESHER_FUNCTION_NAME),
    client: serviceNowClients(agent, systemClock),
    graceMs: alerting.graceMs,
    deadManMs: env.DEAD_MAN_SECONDS * 1000,
  },
  instances,
);

export const handler = async (_event: unknown, context: Context) => {
  logger.addContext(context);
  const reports = await prober();
  return { reports };
};
