import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';

export const EVENT_SOURCE = 'servicenow-token-refresher';

export type EventDetailType =
  | 'Token Refreshed'
  | 'Incident Opened'
  | 'Incident Escalated'
  | 'Incident Resolved'
  | 'Refresh Token Expiring'
  | 'Consumer Token Expiring'
  | 'Alert Topic Unsubscribed';

export interface IntegrationEvent {
  readonly detailType: EventDetailType;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface Email {
  readonly subject: string;
  readonly body: string;
  /** For machine subscribers (filter policies): never secret. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Emails through the SNS topic, events on the EventBridge bus. Never given a secret value. */
export class Notifier {
  constructor(
    private readonly deps: {
      readonly sns: Pick<SNSClient, 'send'>;
      readonly events: Pick<EventBridgeClient, 'send'>;
      readonly topicArn: string;
      readonly busName: string;
    },
  ) {}

  async email(email: Email): Promise<void> {
    await this.deps.sns.send(
      new PublishCommand({
        TopicArn: this.deps.topicArn,
        Subject: email.subject,
        Message: email.body,
        MessageAttributes: Object.fromEntries(
          Object.entries(email.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        ),
      }),
    );
  }

  /** One PutEvents call per 10 events. */
  async publish(events: readonly IntegrationEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const out = await this.deps.events.send(
        new PutEventsCommand({
          Entries: events.slice(i, i + 10).map((e) => ({
            Source: EVENT_SOURCE,
            DetailType: e.detailType,
            Detail: JSON.stringify(e.detail),
            EventBusName: this.deps.busName,
          })),
        }),
      );
      if (out.FailedEntryCount) {
        throw new Error(
          `EventBridge refused ${out.FailedEntryCount} of ${events.length} events; they will be retried`,
        );
      }
    }
  }
}
