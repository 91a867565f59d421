import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { inject } from 'vitest';

/**
 * SDK settings that point at the local emulator, with fake credentials. Inside vitest the endpoint
 * comes from the global setup; scripts that start moto themselves (the demo, the benchmark) set
 * LOCAL_AWS_ENDPOINT.
 */
export function localAwsConfig() {
  return {
    endpoint: process.env.LOCAL_AWS_ENDPOINT ?? inject('motoEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
}

/** For code that builds its own clients from the environment (the Lambda handlers). */
export function pointEnvironmentAtLocalAws(): void {
  const config = localAwsConfig();
  process.env.AWS_ENDPOINT_URL = config.endpoint;
  process.env.AWS_REGION = config.region;
  process.env.AWS_ACCESS_KEY_ID = config.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = config.credentials.secretAccessKey;
}

export interface LocalAws {
  readonly prefix: string;
  readonly secrets: SecretsManagerClient;
  readonly dynamo: DynamoDBClient;
  readonly sns: SNSClient;
  readonly tableName: string;
  createSecret(name: string): Promise<string>;
}

/** A fresh, uniquely named set of resources for one test: tests never see each other's data. */
export async function createLocalAws(): Promise<LocalAws> {
  const config = localAwsConfig();
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const secrets = new SecretsManagerClient(config);
  const dynamo = new DynamoDBClient(config);
  const sns = new SNSClient(config);
  const tableName = `${prefix}-state`;
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'instance', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'instance', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return {
    prefix,
    secrets,
    dynamo,
    sns,
    tableName,
    async createSecret(name) {
      const out = await secrets.send(new CreateSecretCommand({ Name: `${prefix}/${name}` }));
      return out.ARN ?? `${prefix}/${name}`;
    },
  };
}
