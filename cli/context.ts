import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DEFAULT_REFRESH_SETTINGS } from '../lambda/refresher/refresh-policy';
import { createRefresher } from '../lambda/refresher/refresher';
import { deploymentFacts } from '../lambda/shared/alerting-environment';
import { Alerts, DEFAULT_ALERT_SETTINGS } from '../lambda/shared/alerts/alerts';
import { DynamoIncidentStore, type IncidentStore } from '../lambda/shared/alerts/incident-store';
import { AwsNotifier, type Notifier } from '../lambda/shared/alerts/notifier';
import { type Clock, systemClock } from '../lambda/shared/clock';
import { ConsumerTokenStore } from '../lambda/shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import type { RefreshRequester } from '../lambda/shared/refresh-requester';
import { type SecretStore, SecretsManagerSecretStore } from '../lambda/shared/secrets/secret-store';
import {
  createServiceNowAgent,
  type ServiceNowClient,
  serviceNowClients,
} from '../lambda/shared/servicenow/servicenow-client';
import { AwsClock } from '../lambda/shared/state/aws-clock';
import { DynamoStateStore, type StateStore } from '../lambda/shared/state/state-store';
import type { Deployment } from './deployment';
import { CliError, EXIT } from './errors';
import type { Terminal } from './terminal';

/** What the commands work with, built once per run by main.ts. */
export interface CliContext {
  readonly deployment: Deployment;
  readonly terminal: Terminal;
  readonly clock: Clock;
  readonly secrets: SecretStore;
  readonly state: StateStore;
  readonly incidents: IncidentStore;
  /** Refresh tokens handed off to (or tracked for) other tools. */
  readonly consumers: ConsumerTokenStore;
  readonly alerts: Alerts;
  readonly notifier: Notifier;
  readonly refresher: RefreshRequester;
  readonly serviceNow: (instance: InstanceConfig) => Pick<ServiceNowClient, 'requestToken' | 'probe'>;
  readonly json: boolean;
}

/** The AWS clients, stores and cores of one command run, with the operator's own AWS access. */
export function createCliContext(
  deployment: Deployment,
  terminal: Terminal,
  json: boolean,
  clientConfig: { maxAttempts: number; region?: string },
): CliContext {
  const clock = systemClock;
  const dynamo = new DynamoDBClient(clientConfig);
  const secrets = new SecretsManagerSecretStore(new SecretsManagerClient(clientConfig));
  // Renew and bootstrap take the refresher's lease: they too refuse to write with a skewed clock.
  const state = new DynamoStateStore(dynamo, deployment.stateTableName, new AwsClock(clock));
  const incidents = new DynamoIncidentStore(dynamo, deployment.stateTableName);
  const notifier = new AwsNotifier({
    sns: new SNSClient(clientConfig),
    events: new EventBridgeClient(clientConfig),
    topicArn: deployment.alertTopicArn,
    busName: 'default',
  });
  // Logs from the shared cores go nowhere visible: the CLI speaks for itself on the terminal.
  const logger = new Logger({ serviceName: 'snow-token', logLevel: 'SILENT' });
  const alerts = new Alerts({
    store: incidents,
    notifier,
    clock,
    logger,
    owner: `cli/${randomUUID()}`,
    settings: {
      ...DEFAULT_ALERT_SETTINGS,
      deployment: deploymentFacts({
        STACK_NAME: deployment.stackName,
        ALERT_TOPIC_ARN: deployment.alertTopicArn,
      }),
    },
  });
  const agent = createServiceNowAgent();
  const serviceNow = serviceNowClients(agent, clock);
  // A forced refresh runs here, with the operator's own access: the deployed function takes only
  // per-token requests from its invokers (sync jobs), never a forced one.
  const handler = createRefresher(
    {
      clock,
      logger,
      secrets,
      state,
      tokenEndpoint: serviceNow,
      settings: {
        ...DEFAULT_REFRESH_SETTINGS,
        scheduleIntervalMs: deployment.scheduleIntervalSeconds * 1000,
      },
      owner: `cli/${randomUUID()}`,
    },
    deployment.instances,
  );
  const refresher: RefreshRequester = {
    async requestRefresh(instance) {
      const response = await handler({ action: 'refresh', instances: [instance], force: true });
      const result = response.results.findLast((r) => r.instance === instance);
      if (!result) throw new CliError(`the refresher returned nothing for ${instance}`, EXIT.failed);
      return result;
    },
  };
  return {
    deployment,
    terminal,
    clock,
    secrets,
    state,
    incidents,
    consumers: new ConsumerTokenStore(dynamo, deployment.stateTableName),
    alerts,
    notifier,
    refresher,
    serviceNow,
    json,
  };
}
