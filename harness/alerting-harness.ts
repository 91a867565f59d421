import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createExpiryWatch, type ExpiryWatchDeps } from '../lambda/expiry-watch/expiry-watch';
import { createProber, type Prober } from '../lambda/probe/prober';
import type { RefreshDeps } from '../lambda/refresher/refresh-instance';
import { createRefresher, type Refresher } from '../lambda/refresher/refresher';
import { type AlertSettings, Alerts, DEFAULT_ALERT_SETTINGS } from '../lambda/shared/alerts/alerts';
import { DynamoIncidentStore, type IncidentStore } from '../lambda/shared/alerts/incident-store';
import { AwsNotifier, type Notifier } from '../lambda/shared/alerts/notifier';
import { ALARM_METRICS_ONLY, createInstanceMetrics, type MetricScope } from '../lambda/shared/metrics';
import { bootstrapWithPassword } from '../lambda/shared/password-bootstrap';
import type { RefreshRequester } from '../lambda/shared/refresh-requester';
import { ServiceNowClient } from '../lambda/shared/servicenow/servicenow-client';
import { fingerprint } from '../lambda/shared/state/instance-state';
import { InMemoryIncidentStore, RecordingNotifier } from './in-memory-stores';
import { localAwsConfig } from './local-aws/aws-env';
import type {
  InMemoryRefresherFixture,
  RefresherFixture,
  SimulatedRefresherFixture,
} from './refresher-fixture';

export interface ReceivedEmail {
  readonly subject: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
}

export interface ReceivedEvent {
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
}

/** What every test deployment's emails name. */
const TEST_ALERT_SETTINGS: AlertSettings = {
  ...DEFAULT_ALERT_SETTINGS,
  runbook: 'https://runbooks.example.com/servicenow-token.md',
  deployment: { stackName: 'ServiceNowTokenRefresher', account: '123456789012', region: 'eu-west-1' },
};

/**
 * Refresher, probe and expiry-watch environments over one fixture, sharing its incidents and
 * alert channel, with everything sent readable by the test.
 */
abstract class SimulatedAlerting {
  readonly settings: AlertSettings = TEST_ALERT_SETTINGS;
  private owners = 0;
  /** Which detail metrics the functions publish (the construct's default: none). */
  metricScope: MetricScope = ALARM_METRICS_ONLY;

  protected constructor(
    readonly fixture: SimulatedRefresherFixture,
    readonly incidents: IncidentStore,
    readonly notifier: Notifier,
    readonly graceMs: number,
  ) {}

  /** Every email delivered since the last call, in order. */
  abstract emails(): Promise<ReceivedEmail[]>;

  /** Every integration event delivered since the last call, in order. */
  abstract events(): Promise<ReceivedEvent[]>;

  /** A new execution environment's view of the incidents. */
  alerts(): Alerts {
    return new Alerts({
      store: this.incidents,
      notifier: this.notifier,
      clock: this.fixture.clock,
      logger: new Logger({ serviceName: 'servicenow-token-refresher' }),
      owner: `fn/env-${++this.owners}`,
      settings: this.settings,
    });
  }

  refreshHandler(overrides: Partial<RefreshDeps> = {}): Refresher {
    return createRefresher(
      {
        ...this.fixture.deps(overrides),
        reporting: {
          alerts: this.alerts(),
          notifier: this.notifier,
          metrics: createInstanceMetrics(this.metricScope),
          graceMs: this.graceMs,
        },
        requestLimit: this.fixture.requestLimit(),
      },
      this.fixture.instances.map((i) => i.config),
    );
  }

  /** The probe, asking `refresher` (an in-process refresher environment) for immediate refreshes. */
  prober(refresher: Refresher): Prober {
    const requester: RefreshRequester = {
      // moto cannot run Lambda code (no Docker here), so the invocation is a direct call of the
      // real refresher handler with the payload the deployed probe would send.
      async requestRefresh(instance, seenToken) {
        const response = await refresher({
          action: 'refresh',
          instance,
          ...(seenToken !== undefined && { fingerprint: fingerprint(seenToken) }),
        });
        const result = response.results.find((r) => r.instance === instance);
        if (!result) throw new Error(`no result for ${instance}`);
        return result;
      },
    };
    const f = this.fixture;
    return createProber(
      {
        clock: f.clock,
        logger: new Logger({ serviceName: 'servicenow-token-refresher' }),
        secrets: f.secrets,
        state: f.state,
        incidents: this.incidents,
        alerts: this.alerts(),
        metrics: createInstanceMetrics(this.metricScope),
        refresher: requester,
        client: (instance) => f.client(instance.name),
        graceMs: this.graceMs,
      },
      f.instances.map((i) => i.config),
    );
  }

  watch(overrides: Partial<ExpiryWatchDeps> = {}) {
    const f = this.fixture;
    const deps: ExpiryWatchDeps = {
      clock: f.clock,
      state: f.state,
      incidents: this.incidents,
      alerts: this.alerts(),
      metrics: createInstanceMetrics(this.metricScope),
      warningDays: [30, 14, 7, 3, 1],
      scheduleIntervalSeconds: f.settings.scheduleIntervalMs / 1000,
      refreshAheadSeconds: f.settings.refreshAheadMs / 1000,
      ...overrides,
    };
    const watch = createExpiryWatch(
      deps,
      f.instances.map((i) => i.config),
    );
    return async () => (await watch()).reports;
  }

  /** What `snow-token renew` does, closing what the renewal fixes. */
  async renew(name?: string) {
    const f = this.fixture;
    const instance = f.instance(name);
    const result = await bootstrapWithPassword(
      {
        clock: f.clock,
        secrets: f.secrets,
        state: f.state,
        client: new ServiceNowClient(instance.config.url, { dispatcher: f.dispatcher, clock: f.clock }),
        owner: 'cli/renew',
        alerts: this.alerts(),
      },
      instance.config,
      {
        clientId: instance.registry.clientId,
        clientSecret: instance.registry.clientSecret,
        username: instance.username,
        password: instance.password,
      },
    );
    if (result.kind !== 'ok') throw new Error(`renewal failed: ${JSON.stringify(result)}`);
    return result;
  }
}

/**
 * Alerting wired as deployed: an SNS topic with an SQS queue subscribed (to read what an email
 * would say), an EventBridge bus with a rule to a second queue, and the incident store in the
 * fixture's state table (the integration tier).
 */
export class AlertingHarness extends SimulatedAlerting {
  private readonly sqs: SQSClient;

  private constructor(
    override readonly fixture: RefresherFixture,
    readonly topicArn: string,
    private readonly emailQueue: string,
    private readonly eventQueue: string,
    readonly busName: string,
    graceMs: number,
  ) {
    const config = localAwsConfig();
    const notifier = new AwsNotifier({
      sns: fixture.aws.sns,
      events: new EventBridgeClient(config),
      topicArn,
      busName,
    });
    super(fixture, new DynamoIncidentStore(fixture.aws.dynamo, fixture.aws.tableName), notifier, graceMs);
    this.sqs = new SQSClient(config);
  }

  static async create(
    fixture: RefresherFixture,
    options: { graceMs?: number } = {},
  ): Promise<AlertingHarness> {
    const config = localAwsConfig();
    const sqs = new SQSClient(config);
    const events = new EventBridgeClient(config);
    const prefix = fixture.aws.prefix;
    const topic = await fixture.aws.sns.send(new CreateTopicCommand({ Name: `${prefix}-alerts` }));
    const queue = async (name: string) => {
      const url = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${name}` }))).QueueUrl ?? '';
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      );
      return { url, arn: attrs.Attributes?.QueueArn ?? '' };
    };
    const emails = await queue('emails');
    const eventsQueue = await queue('events');
    await fixture.aws.sns.send(
      new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: emails.arn }),
    );
    const busName = `${prefix}-bus`;
    await events.send(new CreateEventBusCommand({ Name: busName }));
    await events.send(
      new PutRuleCommand({
        Name: `${prefix}-all`,
        EventBusName: busName,
        EventPattern: JSON.stringify({ source: ['servicenow-token-refresher'] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: `${prefix}-all`,
        EventBusName: busName,
        Targets: [{ Id: 'q', Arn: eventsQueue.arn }],
      }),
    );
    return new AlertingHarness(
      fixture,
      topic.TopicArn ?? '',
      emails.url,
      eventsQueue.url,
      busName,
      options.graceMs ?? 15 * 60_000,
    );
  }

  async emails(): Promise<ReceivedEmail[]> {
    return (await this.drain(this.emailQueue)).map((body) => {
      const envelope = JSON.parse(body) as {
        Subject: string;
        Message: string;
        MessageAttributes?: Record<string, { Value: string }>;
      };
      return {
        subject: envelope.Subject,
        body: envelope.Message,
        attributes: Object.fromEntries(
          Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
        ),
      };
    });
  }

  async events(): Promise<ReceivedEvent[]> {
    return (await this.drain(this.eventQueue)).map((body) => {
      const event = JSON.parse(body) as { 'detail-type': string; detail: Record<string, unknown> };
      return { detailType: event['detail-type'], detail: event.detail };
    });
  }

  /** A further rule on the bus, with `pattern` as deployed (CloudFormation's EventPattern), to a queue of its own. */
  async route(name: string, pattern: unknown): Promise<() => Promise<ReceivedEvent[]>> {
    const config = localAwsConfig();
    const events = new EventBridgeClient(config);
    const queueName = `${this.fixture.aws.prefix}-${name}`;
    const url = (await this.sqs.send(new CreateQueueCommand({ QueueName: queueName }))).QueueUrl ?? '';
    const attrs = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    await events.send(
      new PutRuleCommand({
        Name: queueName,
        EventBusName: this.busName,
        EventPattern: JSON.stringify(pattern),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: queueName,
        EventBusName: this.busName,
        Targets: [{ Id: 'q', Arn: attrs.Attributes?.QueueArn ?? '' }],
      }),
    );
    return async () =>
      (await this.drain(url)).map((body) => {
        const event = JSON.parse(body) as { 'detail-type': string; detail: Record<string, unknown> };
        return { detailType: event['detail-type'], detail: event.detail };
      });
  }

  private async drain(queueUrl: string): Promise<string[]> {
    const bodies: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const out = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      bodies.push(...messages.map((m) => m.Body ?? ''));
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
    return bodies;
  }
}

/** Alerting in memory: incidents in an in-memory store, emails and events recorded (the unit tier). */
export class InMemoryAlerting extends SimulatedAlerting {
  override readonly notifier: RecordingNotifier;

  constructor(fixture: InMemoryRefresherFixture, options: { readonly graceMs?: number } = {}) {
    const notifier = new RecordingNotifier();
    super(fixture, new InMemoryIncidentStore(), notifier, options.graceMs ?? 15 * 60_000);
    this.notifier = notifier;
  }

  async emails(): Promise<ReceivedEmail[]> {
    return this.notifier.emails();
  }

  async events(): Promise<ReceivedEvent[]> {
    return this.notifier.events();
  }
}
