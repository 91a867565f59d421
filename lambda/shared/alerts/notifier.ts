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

/**
 * Where alerts go: emails to the people on call, integration events to machines. Never given a
 * secret value. AwsNotifier is the deployed one; the unit tests record what would be sent.
 */
export interface Notifier {
  email(email: Email): Promise<void>;
  /** Throws when any event was refused; the caller decides whether that matters. */
  publish(events: readonly IntegrationEvent[]): Promise<void>;
}

/** Emails through the SNS topic, events on the EventBridge bus. */
export class AwsNotifier implements Notifier {
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
