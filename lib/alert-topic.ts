import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface AlertTopicProps {
  /** @default - a new key with rotation, which CloudWatch alarms of this account may use */
  readonly encryptionKey?: kms.IKey;
  /** @default - no subscriptions */
  readonly emails?: readonly string[];
}

/**
 * The topic every alert and alarm goes to: encrypted, SSL only, open to this account's CloudWatch
 * alarms, with email subscriptions. Its key also serves the failed-invocations queue.
 */
export class AlertTopic extends Construct {
  readonly topic: sns.Topic;
  /** The key of the topic (and of the failed-invocations queue). */
  readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // A customer managed key: CloudWatch alarms cannot publish to a topic under the AWS managed
    // aws/sns key, whose policy nobody can change.
    this.key = props.encryptionKey ?? this.newKey(stack);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'ServiceNow token refresher alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
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

  private newKey(stack: Stack): kms.Key {
    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the ServiceNow token refresher alert topic and failed-invocation queue',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    return key;
  }
}
