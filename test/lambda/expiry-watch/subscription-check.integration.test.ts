import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { localAwsConfig } from '../../../harness/local-aws/aws-env';
import { checkSubscriptions } from '../../../lambda/expiry-watch/subscription-check';
import type { IntegrationEvent } from '../../../lambda/shared/alerts/notifier';

const sns = new SNSClient(localAwsConfig());
const sqs = new SQSClient(localAwsConfig());

function recorder() {
  const events: IntegrationEvent[] = [];
  const errors: string[] = [];
  const logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (message: string) => errors.push(message),
  };
  return {
    events,
    errors,
    logger,
    publish: async (e: readonly IntegrationEvent[]) => void events.push(...e),
  };
}

async function topic(): Promise<string> {
  const out = await sns.send(new CreateTopicCommand({ Name: `alerts-${randomUUID().slice(0, 8)}` }));
  return out.TopicArn ?? '';
}

describe('the daily check that alerts reach somebody (against the local AWS emulator)', () => {
  it('puts an action-required event on the bus and logs an error when the topic has no subscription', async () => {
    const topicArn = await topic();
    const seen = recorder();

    const verdict = await checkSubscriptions({ sns, topicArn, stackName: 'Ops', ...seen });

    expect(verdict).toEqual({ status: 'none-confirmed', pending: 0 });
    expect(seen.events).toEqual([
      expect.objectContaining({
        detailType: 'Alert Topic Unsubscribed',
        detail: expect.objectContaining({ severity: 'action-required', stack: 'Ops', topicArn }),
      }),
    ]);
    expect(seen.errors).toEqual([expect.stringMatching(/no confirmed subscription/)]);
  });

  it('stays silent while a confirmed subscription exists', async () => {
    const topicArn = await topic();
    const queueUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: `mail-${randomUUID().slice(0, 8)}` }))).QueueUrl ??
      '';
    const queueArn =
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
        .Attributes?.QueueArn ?? '';
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
    const seen = recorder();

    const verdict = await checkSubscriptions({ sns, topicArn, stackName: 'Ops', ...seen });

    expect(verdict).toEqual({ status: 'ok', confirmed: 1, pending: 0 });
    expect(seen.events).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it('reports "unknown" without failing the watch when the topic cannot be listed', async () => {
    const seen = recorder();

    const verdict = await checkSubscriptions({
      sns,
      topicArn: 'arn:aws:sns:us-east-1:123456789012:does-not-exist',
      stackName: 'Ops',
      ...seen,
    });

    expect(verdict.status).toBe('unknown');
    expect(seen.events).toEqual([]);
  });
});
