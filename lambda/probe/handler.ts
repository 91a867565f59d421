import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { alertingEnvironmentSchema } from '../shared/alerting-environment';
import { systemClock } from '../shared/clock';
import { functionEnvironment } from '../shared/function-environment';
import { createInstanceMetrics, metricScopeFrom } from '../shared/metrics';
import { LambdaRefreshRequester } from '../shared/refresh-requester';
import { SecretsManagerSecretStore } from '../shared/secrets/secret-store';
import { createServiceNowAgent, serviceNowClients } from '../shared/servicenow/servicenow-client';
import { DynamoStateStore } from '../shared/state/state-store';
import * as z from '../shared/zod';
import { createProber } from './prober';

const NAME = 'The probe function';
// Created once per execution environment and reused by every invocation.
const { env, instances, logger, dynamo, alerting } = functionEnvironment(
  NAME,
  z.extend(alertingEnvironmentSchema, {
    REFRESHER_FUNCTION_NAME: z.string().check(z.minLength(1)),
    DEAD_MAN_SECONDS: z._default(z.coerce.number().check(z.int(), z.positive()), 7200),
  }),
);
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
