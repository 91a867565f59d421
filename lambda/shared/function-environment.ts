import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AlertingEnvironment, createAlerting } from './alerting-environment';
import { systemClock } from './clock';
import { loadInstances, parseEnvironment } from './environment';
import { createLogger } from './logger';
import type * as z from './zod';

/**
 * What every function builds once per execution environment, before its own core: its environment
 * (the alerting variables and its own, validated by `schema`), its instances, the logger, the
 * DynamoDB client and the alerting pieces. A misconfigured function fails here, at load, naming
 * `functionName`.
 */
export function functionEnvironment<T extends AlertingEnvironment>(
  functionName: string,
  schema: z.core.$ZodType<T>,
) {
  const env = parseEnvironment(schema, process.env, functionName);
  const instances = loadInstances(process.env, functionName);
  const logger = createLogger(process.env);
  const dynamo = new DynamoDBClient({});
  const alerting = createAlerting(env, { dynamo, clock: systemClock, logger });
  return { env, instances, logger, dynamo, alerting };
}
