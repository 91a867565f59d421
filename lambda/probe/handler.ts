import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { alertingEnvironmentSchema, createAlerting } from '../shared/alerting-environment';
import { systemClock } from '../shared/clock';
import { loadInstances, parseEnvironment } from '../shared/environment';
import { createLogger } from '../shared/logger';
import { createInstanceMetrics, metricScopeFrom } from '../shared/metrics';
import { LambdaRefreshRequester } from '../shared/refresh-requester';
import { SecretStore } from '../shared/secrets/secret-store';
import { createServiceNowAgent, serviceNowClients } from '../shared/servicenow/servicenow-client';
import { StateStore } from '../shared/state/state-store';
import { Prober } from './prober';

const NAME = 'The probe function';
const env = parseEnvironment(
  alertingEnvironmentSchema.extend({
    REFRESHER_FUNCTION_NAME: z.string().min(1),
    DEAD_MAN_SECONDS: z.coerce.number().int().positive().default(7200),
  }),
  process.env,
  NAME,
);
const instances = loadInstances(process.env, NAME);

// Created once per execution environment and reused by every invocation.
const logger = createLogger('servicenow-token-refresher');
const dynamo = new DynamoDBClient({});
const alerting = createAlerting(env, { dynamo, clock: systemClock, logger });
const agent = createServiceNowAgent();
const prober = new Prober(
  {
    clock: systemClock,
    logger,
    secrets: new SecretStore(new SecretsManagerClient({})),
    state: new StateStore(dynamo, env.STATE_TABLE_NAME),
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
  const reports = await prober.run();
  return { reports };
};
