import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface AlertTopicProps {
  /** @default - a new key when `createKey` is set, else no encryption at rest */
  readonly encryptionKey?: kms.IKey;
  /**
   * Without `encryptionKey`: encrypt the topic with a new customer managed key with rotation,
   * which CloudWatch alarms of this account may use ($1 a month).
   * @default - false: the topic is not encrypted at rest (TLS is still enforced in transit)
   */
  readonly createKey?: boolean;
  /** @default - no subscriptions */
  readonly emails?: readonly string[];
}

/**
 * The topic every alert and alarm goes to: SSL only, open to this account's CloudWatch alarms,
 * with email subscriptions, and encrypted with a customer managed key when one is given or asked
 * for. Its key also serves the failed-invocations queue.
 */
export class AlertTopic extends Construct {
  readonly topic: sns.Topic;
  /** The key of the topic (and of the failed-invocations queue), when it has one. */
  readonly key?: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // A customer managed key: CloudWatch alarms cannot publish to a topic under the AWS managed
    // aws/sns key, whose policy nobody can change.
    this.key = props.encryptionKey ?? (props.createKey ? newMessagesKey(this, 'Key') : undefined);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'ServiceNow token refresher alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    if (!this.key) {
      Validations.of(this.topic).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason:
          'By choice (createAlertTopicKey, default off): alerts carry instance names, dates and advice, never a token or secret value, and the only SSE that CloudWatch alarms can publish through is a customer managed key at $1 a month. TLS is enforced in transit.',
      });
    }
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*`,
          },
        },
      }),
    );
    for (const email of props.emails ?? []) {
      const subscription = new sns.Subscription(this.topic, email, {
        topic: this.topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: email,
      });
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'SNS retries email deliveries itself; a dead-letter queue would only collect alerts that nobody is told about, since telling them needs this same email channel.',
      });
    }
  }

  /**
   * Alert authenticity: nobody but the given principals (the functions' roles and the operators,
   * for "snow-token test-alert") and this account's CloudWatch alarms may publish, so an email
   * that tells ops to run a command cannot come from anyone else in the account, administrators
   * included. An explicit deny, so an identity policy with sns:* cannot override it.
   */
  restrictPublishers(principalArns: readonly string[]): void {
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheFunctionsOperatorsAndAlarmsPublish',
        effect: iam.Effect.DENY,
        principals: [new iam.StarPrincipal()],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          // A service principal's request carries no aws:PrincipalArn, so the first test holds
          // for it, and the second exempts CloudWatch alone.
          ArnNotEquals: { 'aws:PrincipalArn': [...principalArns] },
          StringNotEquals: { 'aws:PrincipalServiceName': 'cloudwatch.amazonaws.com' },
        },
      }),
    );
  }
}

/**
 * A customer managed key with rotation for the alert topic and the failed-invocations queue, which
 * CloudWatch alarms (publishing to the topic) and EventBridge (delivering a schedule's failed
 * invocation to the queue) of this account may use.
 */
export function newMessagesKey(scope: Construct, id: string): kms.Key {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, id, {
    description: 'Encrypts the ServiceNow token refresher alert topic and failed-invocation queue',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // CloudWatch alarms publish to the topic; EventBridge delivers a schedule's failed invocation to
  // the queue, which shares this key, as events.amazonaws.com: each must be able to encrypt.
  const users = [
    ['CloudWatchAlarmsPublishToEncryptedTopic', 'cloudwatch.amazonaws.com'],
    ['EventBridgeDeliversFailedInvocations', 'events.amazonaws.com'],
  ] as const;
  for (const [sid, service] of users) {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.ServicePrincipal(service)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
  }
  return key;
}
