import { ListSubscriptionsByTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { IntegrationEvent } from '../shared/alerts/notifier';
import type { Logger } from '../shared/logger';

/** SNS lists 100 subscriptions a page; ten pages is more than any ops team subscribes. */
const MAX_PAGES = 10;

export interface SubscriptionCheckDeps {
  readonly sns: Pick<SNSClient, 'send'>;
  readonly topicArn: string;
  readonly publish: (events: readonly IntegrationEvent[]) => Promise<void>;
  readonly logger: Logger;
  /** The stack the event names, so a pager can tell two deployments apart. */
  readonly stackName: string;
}

export type SubscriptionVerdict =
  | { readonly status: 'ok'; readonly confirmed: number; readonly pending: number }
  | { readonly status: 'none-confirmed'; readonly pending: number }
  | { readonly status: 'unknown'; readonly reason: string };

/**
 * Alerts reach people only through the topic's confirmed subscriptions. An email alert cannot
 * say that nobody reads the emails, so when none is confirmed (never confirmed, or the last one
 * unsubscribed) the daily watch logs an error (the dashboard's failure view shows it) and puts an
 * action-required event on the bus, which the paging recipe routes. Best effort: a failure here
 * never stops the watch.
 */
export async function checkSubscriptions(deps: SubscriptionCheckDeps): Promise<SubscriptionVerdict> {
  let confirmed = 0;
  let pending = 0;
  try {
    let next: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await deps.sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: deps.topicArn, NextToken: next }),
      );
      for (const s of out.Subscriptions ?? []) {
        // Unconfirmed subscriptions have the literal ARN "PendingConfirmation".
        if (s.SubscriptionArn?.startsWith('arn:')) confirmed++;
        else if (s.SubscriptionArn === 'PendingConfirmation') pending++;
      }
      next = out.NextToken;
      if (!next) break;
    }
  } catch (error) {
    const reason = error instanceof Error ? error.name : 'unknown error';
    deps.logger.warn('could not list the alert topic subscriptions; checked again tomorrow', { reason });
    return { status: 'unknown', reason };
  }
  if (confirmed > 0) return { status: 'ok', confirmed, pending };
  const advice =
    pending > 0
      ? `${pending} subscription(s) wait for confirmation: ask each recipient to click the link in the "AWS Notification - Subscription Confirmation" email`
      : 'subscribe an address (alerts.emails in the configuration, then deploy) and confirm it';
  deps.logger.error('the alert topic has no confirmed subscription: alert emails reach nobody', {
    topicArn: deps.topicArn,
    pending,
    fix: advice,
  });
  try {
    await deps.publish([
      {
        detailType: 'Alert Topic Unsubscribed',
        detail: {
          instance: '*',
          kind: 'alert-topic-unsubscribed',
          severity: 'action-required',
          stack: deps.stackName,
          topicArn: deps.topicArn,
          pending,
          fix: advice,
        },
      },
    ]);
  } catch (error) {
    deps.logger.warn('could not put the unsubscribed-topic event on the bus', {
      reason: error instanceof Error ? error.name : 'unknown error',
    });
  }
  return { status: 'none-confirmed', pending };
}
