import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArnFormat,
  type CfnElement,
  Duration,
  NestedStack,
  RemovalPolicy,
  Stack,
  Tags,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../lambda/shared/deployment-contract';
import { type InstanceConfig, instanceListSchema } from '../lambda/shared/instance-config';
import { AlertTopic } from './alert-topic';
import { DeadManSwitch } from './dead-man-switch';
import { instanceGroup, instanceGroupId, MAX_INSTANCES_PER_GROUP } from './instance-groups';
import { InstanceResources } from './instance-resources';
import { OperationalAlarms } from './operational-alarms';
import { RefresherDashboard } from './refresher-dashboard';
import { ACCESS_TOKEN_READER_TAG, defaultDeploymentRoleArn, type SecretPrincipals } from './secret-policies';
import { operatorArnProblem } from './security-checks';
import { TokenFunction } from './token-function';

/** One ServiceNow instance whose access token the construct keeps fresh. */
export interface ServiceNowInstance {
  /** Lower-case letters, digits and dashes, e.g. "acme-prod"; part of the secret names, so never rename. */
  readonly name: string;
  /**
   * The instance address, e.g. "https://acme.service-now.com": https only, as the functions
   * enforce (plain http is accepted on loopback alone, for local rehearsals against a simulator).
   */
  readonly url: string;
  /** @default - the probe's one-row sys_user query */
  readonly probePath?: string;
  /** @default - the construct's expiryWarningDays */
  readonly expiryWarningDays?: readonly number[];
  /**
   * The grant `snow-token bootstrap` sets up ("password", "client_credentials" or "jwt_bearer");
   * recorded as a tag on the credentials secret. The secret itself says which grant applies.
   * @default "password"
   */
  readonly grant?: string;
  /**
   * The refresh token lifespan on the instance's Application Registry record (password grant
   * only); recorded as a tag on the credentials secret (bootstrap stores the one that applies).
   * @default Duration.days(100), ServiceNow's default
   */
  readonly refreshTokenLifespan?: Duration;
}

export interface ServiceNowTokenRefresherProps {
  readonly instances: readonly ServiceNowInstance[];
  /**
   * Secret names are `<prefix><instance>/credentials` and `<prefix><instance>/access-token`; the
   * roles are scoped to this prefix, so no other secret may use it.
   * @default "servicenow-token/"
   */
  readonly secretNamePrefix?: string;
  /**
   * IAM principal ARNs (wildcards allowed, as in aws:PrincipalArn) that, besides the refresher,
   * may read and write the credentials secrets: the people or roles running `snow-token bootstrap`.
   * ARN strings rather than IRole because operators are often SSO roles matched by pattern.
   * @default - none: nobody but the refresher can read or write credentials, so bootstrap is impossible until one is added
   */
  readonly operatorPrincipalArns?: readonly string[];
  /**
   * The role CloudFormation deploys this stack with: the one principal the secrets' resource
   * policies let change or delete the secrets, their policies, tags, replication and rotation.
   * @default - the CDK bootstrap's CloudFormation execution role (cdk-hnb659fds-cfn-exec-role-<account>-<region>)
   */
  readonly deploymentRoleArn?: string;
  /**
   * Principals (role or user ARNs, wildcards in the name only) besides the construct's own
   * functions, the operators and grantReadAccessToken's grantees that may read the access tokens:
   * sync jobs whose roles live outside this CDK app. Everyone else is denied by the secrets' policy.
   * @default - none
   */
  readonly accessTokenReaderArns?: readonly string[];
  /**
   * Customer managed key for the secrets, the state table, the alert topic and the failure queue.
   * Its key policy must let CloudWatch (cloudwatch.amazonaws.com) use it, or alarms cannot publish.
   * @default - secrets and table use AWS managed keys; the topic and queue as `createAlertTopicKey` says
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Without `encryptionKey`: encrypt the alert topic and the failed-invocations queue with a new
   * customer managed key with rotation ($1 a month). What leaving it off gives up: encryption at
   * rest of the alert texts (instance names, dates, advice; never a token) and of failed events.
   * CloudWatch alarms cannot publish to a topic under the AWS managed aws/sns key, so there is no
   * free middle way for the topic; the queue then uses SQS-managed encryption.
   * @default false
   */
  readonly createAlertTopicKey?: boolean;
  /**
   * A CloudWatch dashboard ($3 a month beyond an account's first three). It also makes the
   * functions publish the fleet figures it graphs (7 metrics, $2.10 a month) unless
   * `perInstanceMetrics` is set. What leaving it off gives up: graphs; every alert and alarm
   * still fires, and the CLI's `status` shows each instance.
   * @default false
   */
  readonly dashboard?: boolean;
  /**
   * Publish the 7 detail metrics (refresh and probe success and failure, probe latency, seconds
   * and days remaining) per instance, with an `instance` dimension: $2.10 per instance-month. The
   * dashboard, when on, then draws one line per instance. No alarm needs them: the dead-man's
   * switch reads one fleet metric.
   * @default false
   */
  readonly perInstanceMetrics?: boolean;
  /** @default - a new topic, encrypted, SSL-only, that CloudWatch alarms in this account may publish to */
  readonly alertTopic?: sns.ITopic;
  /** Email addresses subscribed to a new alert topic (ignored when alertTopic is given). @default - no subscriptions */
  readonly alertEmails?: readonly string[];
  /** Where the functions put alert events. @default - the account's default event bus */
  readonly eventBus?: events.IEventBus;
  /** @default Duration.minutes(1) */
  readonly refreshInterval?: Duration;
  /** @default Duration.minutes(5) */
  readonly probeInterval?: Duration;
  /** @default - every day at 08:00 UTC */
  readonly expiryWatchSchedule?: events.Schedule;
  /** How long an instance may go without a new access token before the dead-man's switch fires. @default Duration.hours(2) */
  readonly deadManPeriod?: Duration;
  /** How long before the stored expiry the refresher asks for a new token. @default Duration.minutes(5) */
  readonly refreshAhead?: Duration;
  /** How long a probe failure may last before it alerts. @default Duration.minutes(15) */
  readonly gracePeriod?: Duration;
  /** How often an open incident is re-announced. @default Duration.hours(24) */
  readonly reminderInterval?: Duration;
  /** Days before the refresh token's end at which to warn. @default [30, 14, 7, 3, 1] */
  readonly expiryWarningDays?: readonly number[];
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Applies to the secrets and the state table (log groups are always destroyed). @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Tags put on every secret (the stack's tags apply as well). @default - none */
  readonly secretTags?: Readonly<Record<string, string>>;
  /**
   * The runbook ops follow, e.g. your copy of docs/runbook.md in your wiki or repository: emails link
   * its sections (the anchors of docs/runbook.md are appended) and alarm descriptions link it.
   * @default - no link: the emails carry the steps inline, alarm descriptions name docs/runbook.md
   */
  readonly runbookUrl?: string;
}

const DEFAULT_PREFIX = 'servicenow-token/';
const ENV_COMMON = {
  POWERTOOLS_SERVICE_NAME: METRICS.service,
  POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
  NODE_OPTIONS: '--enable-source-maps',
};

/**
 * Keeps a valid ServiceNow OAuth access token in Secrets Manager for every configured instance:
 * the refresher, probe and expiry-watch functions on their schedules, the per-instance secrets, the
 * state table, the alert topic, alarms (including a dead-man's switch over every instance) and,
 * as an option, a dashboard.
 * Sync jobs get access through `grantReadAccessToken`, and may ask for a new token with
 * `grantRequestRefresh`.
 */
export class ServiceNowTokenRefresher extends Construct {
  readonly refresher: lambda.IFunction;
  readonly probe: lambda.IFunction;
  readonly expiryWatch: lambda.IFunction;
  readonly table: dynamodb.ITable;
  readonly alertTopic: sns.ITopic;
  readonly failedInvocations: sqs.IQueue;
  /** Present when the `dashboard` prop is set. */
  readonly dashboard?: cloudwatch.Dashboard;
  /** The dead-man's switch: its alarm on silent instances, and its alarm on a missing reading. */
  readonly deadManSwitch: DeadManSwitch;
  /**
   * The alarms on the machinery (function errors and throttles, failed scheduled runs, the dead-man's
   * switch), for routing elsewhere, e.g. `alarm.addAlarmAction(...)` to an incident tool.
   */
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly secretNamePrefix: string;
  readonly instanceNames: readonly string[];
  /** The nested stacks holding the per-instance resources, by group ID. */
  readonly instanceGroups: ReadonlyMap<string, NestedStack>;
  private readonly instanceResources = new Map<string, InstanceResources>();
  private readonly encryptionKey?: kms.IKey;
  private readonly accessTokenSecrets = new Map<string, secretsmanager.ISecret>();
  /** Role ARNs of grantReadAccessToken's grantees, rendered into the access-token policies at synth. */
  private readonly readerArns: string[] = [];

  constructor(scope: Construct, id: string, props: ServiceNowTokenRefresherProps) {
    super(scope, id);
    const prefix = props.secretNamePrefix ?? DEFAULT_PREFIX;
    this.secretNamePrefix = prefix;
    this.encryptionKey = props.encryptionKey;
    const settings = validateProps(props, prefix);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    // Alarm and dashboard names are unique per account and region: the stack's name and the prefix
    // (without its slash), in characters both accept, so two stacks with one prefix do not collide.
    const alarmNamePrefix = `${Stack.of(this).stackName}-${prefix.replace(/\/+$/, '')}`.replace(
      /[^A-Za-z0-9_-]/g,
      '-',
    );
    if ((props.operatorPrincipalArns ?? []).length === 0) {
      Validations.of(this).addWarning(
        'NoOperators',
        'operatorPrincipalArns is empty: only the refresher can read or write the credentials secrets, so nobody can run "snow-token bootstrap". Add the operators\' role ARNs, e.g. "arn:aws:iam::123456789012:role/ServiceNowTokenOperator".',
      );
    }
    this.instanceNames = settings.instances.map((i) => i.name);

    const createKey = props.createAlertTopicKey ?? false;
    const alerts = props.alertTopic
      ? undefined
      : new AlertTopic(this, 'Alerts', {
          encryptionKey: props.encryptionKey,
          createKey,
          emails: props.alertEmails,
        });
    this.alertTopic = props.alertTopic ?? (alerts as AlertTopic).topic;
    // The failed-invocations queue shares the topic's key; with a topic of the caller's, a new one
    // when asked for; without a key, SQS-managed encryption.
    const messagesKey =
      alerts?.key ??
      props.encryptionKey ??
      (props.alertTopic && createKey ? new AlertTopic(this, 'QueueKey', { createKey }).key : undefined);
    const dashboard = props.dashboard ?? false;
    const perInstanceMetrics = props.perInstanceMetrics ?? false;

    const table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'instance', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    this.table = table;

    const failedInvocations = new sqs.Queue(this, 'FailedInvocations', {
      encryption: messagesKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: messagesKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const dlqReason =
      'This queue is itself the dead-letter destination of the functions and schedules; it has an alarm instead of a further DLQ.';
    Validations.of(failedInvocations).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: dlqReason },
      { id: 'Serverless-SQSRedrivePolicy', reason: dlqReason },
    );
    this.failedInvocations = failedInvocations;

    const eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'EventBus', 'default');
    const instancesFile = writeInstancesFile(settings.instances);
    const environment = {
      ...ENV_COMMON,
      STATE_TABLE_NAME: table.tableName,
      ALERT_TOPIC_ARN: this.alertTopic.topicArn,
      EVENT_BUS_NAME: eventBus.eventBusName,
      SCHEDULE_INTERVAL_SECONDS: String(settings.refreshInterval.toSeconds()),
      REFRESH_AHEAD_SECONDS: String(settings.refreshAhead.toSeconds()),
      GRACE_PERIOD_SECONDS: String(settings.gracePeriod.toSeconds()),
      REMINDER_HOURS: String(settings.reminderInterval.toHours({ integral: false })),
      // The fleet figures only where the dashboard graphs them; per instance only when asked for.
      METRICS_FLEET: String(dashboard && !perInstanceMetrics),
      METRICS_PER_INSTANCE: String(perInstanceMetrics),
      // Every email names the deployment it is about, and the runbook when there is one.
      STACK_NAME: Stack.of(this).stackName,
      STACK_ACCOUNT: Stack.of(this).account,
      STACK_REGION: Stack.of(this).region,
      RUNBOOK_URL: props.runbookUrl ?? '',
    };
    const common = {
      instancesFile,
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      logRemovalPolicy: RemovalPolicy.DESTROY,
      onFailure: new SqsDestination(failedInvocations),
    };

    const refresher = new TokenFunction(this, 'Refresher', {
      ...common,
      entry: 'refresher',
      description: 'Keeps each ServiceNow access token in Secrets Manager valid',
      // Up to one schedule interval waiting for a token's exact expiry, plus a 40 s attempt budget.
      timeout: Duration.seconds(150),
      environment,
      // The schedule is the retry: the next run comes within a minute and takes over.
      retryAttempts: 0,
    });
    const probe = new TokenFunction(this, 'Probe', {
      ...common,
      entry: 'probe',
      description: 'Checks that each stored ServiceNow access token works; asks for a refresh on a 401',
      timeout: Duration.seconds(60),
      environment: {
        ...environment,
        REFRESHER_FUNCTION_NAME: refresher.function.functionName,
        DEAD_MAN_SECONDS: String(settings.deadManPeriod.toSeconds()),
      },
      retryAttempts: 0,
    });
    const expiryWatch = new TokenFunction(this, 'ExpiryWatch', {
      ...common,
      entry: 'expiry-watch',
      description: 'Warns before each ServiceNow refresh token reaches the end of its life',
      timeout: Duration.seconds(60),
      environment: { ...environment, EXPIRY_WARNING_DAYS: settings.expiryWarningDays.join(',') },
      retryAttempts: 2,
    });
    this.refresher = refresher.function;
    this.probe = probe.function;
    this.expiryWatch = expiryWatch.function;

    this.grantRefresherAccess(refresher.role, prefix, table);
    this.secretArnsGrant(probe.role, prefix, 'access-token', ['secretsmanager:GetSecretValue'], 'Decrypt');
    // Tokens handed off to other tools with "snow-token handoff --watch": the expiry watch alone
    // reads them, for its one daily refresh grant per token.
    this.secretArnsGrant(
      expiryWatch.role,
      prefix,
      'consumer-*',
      ['secretsmanager:GetSecretValue'],
      'Decrypt',
    );
    for (const fn of [refresher, probe, expiryWatch]) {
      this.alertTopic.grantPublish(fn.role);
      eventBus.grantPutEventsTo(fn.role);
    }
    // A topic of the caller's keeps the caller's policy: only our own topic can be restricted.
    alerts?.restrictPublishers([
      ...[refresher, probe, expiryWatch].map((fn) => fn.role.roleArn),
      ...(props.operatorPrincipalArns ?? []),
    ]);
    for (const fn of [probe, expiryWatch]) this.grantStateAccess(fn.role, table);
    // The daily check that alerts reach somebody: a confirmed subscription on the topic.
    expiryWatch.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sns:ListSubscriptionsByTopic'],
        resources: [this.alertTopic.topicArn],
      }),
    );
    refresher.function.grantInvoke(probe.role);
    this.acknowledgeGrantWildcards(refresher, probe, expiryWatch, prefix);

    const schedules: [TokenFunction, events.Schedule][] = [
      [refresher, events.Schedule.rate(settings.refreshInterval)],
      [probe, events.Schedule.rate(settings.probeInterval)],
      [expiryWatch, props.expiryWatchSchedule ?? events.Schedule.cron({ minute: '0', hour: '8' })],
    ];
    for (const [fn, schedule] of schedules) {
      new events.Rule(fn, 'Schedule', {
        description: `Runs ${fn.node.id} on its schedule`,
        schedule,
        targets: [
          new targets.LambdaFunction(fn.function, { deadLetterQueue: failedInvocations, retryAttempts: 2 }),
        ],
      });
    }

    const operationalAlarms = new OperationalAlarms(this, 'Alarms', {
      functions: { refresher, probe, 'expiry-watch': expiryWatch },
      failedInvocations,
      topic: this.alertTopic,
      alarmNamePrefix,
      runbookUrl: props.runbookUrl,
    });
    this.deadManSwitch = new DeadManSwitch(this, 'DeadManSwitch', {
      topic: this.alertTopic,
      deadManPeriod: settings.deadManPeriod,
      probeInterval: settings.probeInterval,
      alarmNamePrefix,
      runbookUrl: props.runbookUrl,
    });
    this.alarms = [
      ...operationalAlarms.alarms,
      this.deadManSwitch.silentInstancesAlarm,
      this.deadManSwitch.noReadingAlarm,
    ];

    const groups = new Map<string, NestedStack>();
    settings.instances.forEach((instance, index) => {
      const source = props.instances[index] as ServiceNowInstance;
      const groupId = instanceGroupId(instanceGroup(instance.name));
      let group = groups.get(groupId);
      if (!group) {
        group = new NestedStack(this, groupId, {
          description: `ServiceNow token refresher: per-instance secrets (${groupId})`,
        });
        groups.set(groupId, group);
      }
      this.instanceResources.set(
        instance.name,
        new InstanceResources(group, instance.name, {
          instanceName: instance.name,
          instanceUrl: instance.url,
          credentialsSecretName: instance.credentialsSecretId,
          accessTokenSecretName: instance.accessTokenSecretId,
          principals: this.secretPrincipals(props, refresher, probe),
          encryptionKey: props.encryptionKey,
          removalPolicy,
          tags: props.secretTags ?? {},
          credentialsTags: {
            'servicenow-token:grant': source.grant ?? 'password',
            ...((source.grant ?? 'password') === 'password' && {
              'servicenow-token:refresh-token-lifespan-days': String(
                (source.refreshTokenLifespan ?? Duration.days(100)).toDays(),
              ),
            }),
          },
        }),
      );
    });
    for (const [groupId, group] of groups) {
      const count = group.node.children.length;
      if (count > MAX_INSTANCES_PER_GROUP) {
        throw new Error(
          `${this.node.path}: ${count} instances fall into ${groupId}, more than the ${MAX_INSTANCES_PER_GROUP} one nested stack can hold. Split the instances over two ServiceNowTokenRefresher constructs with different secretNamePrefix values, e.g. "servicenow-token-eu/".`,
        );
      }
    }
    this.instanceGroups = groups;

    if (dashboard) {
      this.dashboard = new RefresherDashboard(this, 'Dashboard', {
        dashboardName: alarmNamePrefix,
        functions: [refresher, probe, expiryWatch].map((f) => f.function),
        failedInvocations,
        perInstance: perInstanceMetrics,
        // By ARN built from each alarm's name, not a reference to the alarm resource: the dashboard
        // deploys (and the rehearsal emulator, which cannot model alarms, accepts it) either way.
        alarms: this.alarms.map((alarm, i) =>
          cloudwatch.Alarm.fromAlarmArn(
            this,
            `DashboardAlarm${i}`,
            Stack.of(this).formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName ?? '',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ),
        ),
        logGroups: [refresher, probe, expiryWatch].map((f) => f.logGroup),
      }).dashboard;
    }
  }

  /** The instance's access-token secret, by its stable name (usable from any stack in the account). */
  accessTokenSecret(instanceName: string): secretsmanager.ISecret {
    this.requireInstance(instanceName, 'accessTokenSecret');
    let secret = this.accessTokenSecrets.get(instanceName);
    if (!secret) {
      secret = secretsmanager.Secret.fromSecretNameV2(
        this,
        `AccessTokenSecret-${instanceName}`,
        `${this.secretNamePrefix}${instanceName}/access-token`,
      );
      this.accessTokenSecrets.set(instanceName, secret);
    }
    return secret;
  }

  /** The name of the instance's access-token secret, e.g. "servicenow-token/acme/access-token". */
  accessTokenSecretName(instanceName: string): string {
    this.requireInstance(instanceName, 'accessTokenSecretName');
    return `${this.secretNamePrefix}${instanceName}/access-token`;
  }

  /** The per-instance resources (secrets, resource policy). */
  instance(instanceName: string): InstanceResources {
    const found = this.instanceResources.get(instanceName);
    if (!found) this.requireInstance(instanceName, 'instance');
    return found as InstanceResources;
  }

  /**
   * Lets a sync job read the current access token: of one instance, or of every instance when
   * `instanceName` is omitted. Never the credentials.
   */
  grantReadAccessToken(grantee: iam.IGrantable, instanceName?: string): iam.Grant {
    if (instanceName !== undefined) this.requireInstance(instanceName, 'grantReadAccessToken');
    this.addAccessTokenReader(grantee);
    const name = instanceName ?? '*';
    return this.secretArnsGrant(
      grantee,
      this.secretNamePrefix,
      'access-token',
      ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      'Decrypt',
      name,
    );
  }

  /**
   * The access-token policies deny reads to all but named principals. A role of this CDK app is
   * named by a tag (READER_TAG = the prefix), so no reference runs from the secrets to the job's
   * stack (which already refers to the refresher); a literal ARN is named in the policy.
   */
  private addAccessTokenReader(grantee: iam.IGrantable): void {
    const principal = grantee.grantPrincipal;
    if (principal instanceof iam.Role) {
      Tags.of(principal).add(ACCESS_TOKEN_READER_TAG, this.secretNamePrefix);
      return;
    }
    const arn =
      (principal as { roleArn?: string; arn?: string }).roleArn ?? (principal as { arn?: string }).arn;
    if (arn === undefined || Token.isUnresolved(arn)) {
      throw new Error(
        `${this.node.path}.grantReadAccessToken: the grantee is not a role of this app nor a literal ARN, so the access-token secrets' policy cannot name it; pass an iam.Role, or list its ARN in accessTokenReaderArns, e.g. "arn:aws:iam::123456789012:role/SyncJob"`,
      );
    }
    if (!this.readerArns.includes(arn)) this.readerArns.push(arn);
  }

  /**
   * Lets a sync job ask for a new token when the one it holds fails (invoke the refresher with
   * {"action":"refresh","instance":"<name>","fingerprint":"<fingerprint>"}): one instance at a time,
   * only the token it could read, rate limited per instance. See docs/security.md.
   */
  grantRequestRefresh(grantee: iam.IGrantable): iam.Grant {
    return this.refresher.grantInvoke(grantee);
  }

  private secretPrincipals(
    props: ServiceNowTokenRefresherProps,
    refresher: TokenFunction,
    probe: TokenFunction,
  ): SecretPrincipals {
    const deployment = props.deploymentRoleArn ?? defaultDeploymentRoleArn(this);
    if (deployment === undefined) {
      throw new Error(
        `${this.node.path}: deploymentRoleArn is needed when the stack does not use the DefaultStackSynthesizer: the secrets' policies let only that role change or delete them, e.g. "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1"`,
      );
    }
    const readerArns = this.readerArns;
    return {
      refresher: refresher.role.roleArn,
      probe: probe.role.roleArn,
      operators: props.operatorPrincipalArns ?? [],
      // Read when the policy is rendered (lazily, at synth): grants may come after construction.
      get accessTokenReaders() {
        return [...(props.accessTokenReaderArns ?? []), ...readerArns];
      },
      readerTag: { key: ACCESS_TOKEN_READER_TAG, value: this.secretNamePrefix },
      deployment,
    };
  }

  private grantRefresherAccess(role: iam.IRole, prefix: string, table: dynamodb.Table): void {
    this.secretArnsGrant(
      role,
      prefix,
      'credentials',
      ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
      'DecryptAndEncrypt',
    );
    // Write-only: the refresher never needs to read back the token it stored.
    this.secretArnsGrant(role, prefix, 'access-token', ['secretsmanager:PutSecretValue'], 'Encrypt');
    table.grant(
      role,
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    );
    this.grantTableKey(role);
  }

  /**
   * The probe and the expiry watch: the item reads and conditional writes they make, never
   * DeleteItem, BatchWriteItem or Scan (grantReadWriteData gave all of them).
   */
  private grantStateAccess(role: iam.IRole, table: dynamodb.Table): void {
    table.grant(role, 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem');
    this.grantTableKey(role);
  }

  /** With a customer managed key: decrypt and data keys through DynamoDB only, no Encrypt or ReEncrypt. */
  private grantTableKey(role: iam.IRole): void {
    const key = this.encryptionKey;
    if (!key) return;
    const stack = Stack.of(this);
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resourceArns: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.${stack.urlSuffix}` } },
    });
  }

  /**
   * Grants on secrets by name pattern: one statement whatever the number of instances (an explicit
   * ARN list for 200 instances would overflow IAM's 10 KB policy size), and no reference into the
   * nested stacks. `-??????` is the random suffix Secrets Manager appends to every secret ARN.
   */
  private secretArnsGrant(
    grantee: iam.IGrantable,
    prefix: string,
    kind: 'credentials' | 'access-token' | 'consumer-*',
    actions: string[],
    keyUse: 'Decrypt' | 'Encrypt' | 'DecryptAndEncrypt',
    instanceName = '*',
  ): iam.Grant {
    const stack = Stack.of(this);
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${prefix}${instanceName}/${kind}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    const key = this.encryptionKey;
    if (key) {
      const keyActions = {
        Decrypt: ['kms:Decrypt'],
        Encrypt: ['kms:GenerateDataKey'],
        DecryptAndEncrypt: ['kms:Decrypt', 'kms:GenerateDataKey'],
      }[keyUse];
      iam.Grant.addToPrincipal({
        grantee,
        actions: keyActions,
        resourceArns: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` },
        },
      });
    }
    return grant;
  }

  /**
   * The wildcards that remain after least-privilege grants, each acknowledged with its reason. The
   * finding IDs carry the ARN as cdk-nag prints it (pseudo parameters as <AWS::Region> when the
   * stack is environment-agnostic).
   */
  private acknowledgeGrantWildcards(
    refresher: TokenFunction,
    probe: TokenFunction,
    expiryWatch: TokenFunction,
    prefix: string,
  ): void {
    const stack = Stack.of(this);
    const literal = (value: string, pseudo: string) =>
      Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
    const secretArn = (kind: string) =>
      `arn:${literal(stack.partition, 'Partition')}:secretsmanager:${literal(stack.region, 'Region')}:${literal(stack.account, 'AccountId')}:secret:${prefix}*/${kind}-??????`;
    const secretsReason = (who: string) =>
      `${who} serves every configured instance, so it is granted the secrets by name pattern under the prefix "${prefix}" (reserved for this system): an explicit list for 200 instances would overflow IAM's policy size limit. "-??????" is the random suffix Secrets Manager appends to every secret ARN.`;
    Validations.of(refresher.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${secretArn('credentials')}]`,
        reason: secretsReason('The refresher'),
      },
      {
        id: `AwsSolutions-IAM5[Resource::${secretArn('access-token')}]`,
        reason: secretsReason('The refresher'),
      },
    );
    Validations.of(expiryWatch.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${secretArn('consumer-*')}]`,
      reason: `${secretsReason('The expiry watch')} "consumer-*" names the tools' tokens that "snow-token handoff --watch" stores at run time, unknown at synth.`,
    });
    Validations.of(probe.role).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::${secretArn('access-token')}]`, reason: secretsReason('The probe') },
      {
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(refresher.function.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          'From grantInvoke: the refresher function and its versions/aliases (":*"); the probe may only invoke the refresher.',
      },
    );
    for (const fn of [refresher, probe, expiryWatch]) {
      Validations.of(fn.role).acknowledge(
        {
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason:
            'From the topic and queue grants (grantPublish, the failure destination): data keys of the one messages key only, never another key.',
        },
        {
          id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
          reason:
            "From the failure destination's queue grant (grantSendMessages): re-encryption with the one messages key only.",
        },
      );
    }
  }

  private requireInstance(instanceName: string, method: string): void {
    if (!this.instanceNames.includes(instanceName)) {
      throw new Error(
        `${this.node.path}.${method}: no instance named "${instanceName}"; configured: ${this.instanceNames.join(', ')}`,
      );
    }
  }
}

interface ValidatedSettings {
  readonly instances: InstanceConfig[];
  readonly refreshInterval: Duration;
  readonly probeInterval: Duration;
  readonly deadManPeriod: Duration;
  readonly refreshAhead: Duration;
  readonly gracePeriod: Duration;
  readonly reminderInterval: Duration;
  readonly expiryWarningDays: readonly number[];
}

/** Fails at synth, naming the prop and an allowed example, rather than at the first invocation. */
function validateProps(props: ServiceNowTokenRefresherProps, prefix: string): ValidatedSettings {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_+=.@/-]*\/$/.test(prefix)) {
    problems.push(
      `secretNamePrefix: "${prefix}" must end with "/" and use letters, digits or _+=.@-/, e.g. "servicenow-token/"`,
    );
  }
  const minutes = (field: string, value: Duration | undefined, fallback: Duration, max: number) => {
    const d = value ?? fallback;
    const s = d.toSeconds();
    if (s % 60 !== 0 || s < 60 || s > max * 60) {
      problems.push(
        `${field}: use whole minutes from 1 to ${max}, e.g. Duration.minutes(${fallback.toMinutes()})`,
      );
    }
    return d;
  };
  const refreshInterval = minutes('refreshInterval', props.refreshInterval, Duration.minutes(1), 15);
  const probeInterval = minutes('probeInterval', props.probeInterval, Duration.minutes(5), 60);
  const deadManPeriod = minutes('deadManPeriod', props.deadManPeriod, Duration.hours(2), 24 * 60);
  const refreshAhead = props.refreshAhead ?? Duration.minutes(5);
  const gracePeriod = props.gracePeriod ?? Duration.minutes(15);
  const reminderInterval = props.reminderInterval ?? Duration.hours(24);
  const expiryWarningDays = props.expiryWarningDays ?? [30, 14, 7, 3, 1];
  if (
    props.runbookUrl !== undefined &&
    !Token.isUnresolved(props.runbookUrl) &&
    !/^https?:\/\/[^\s/]+\S*$/.test(props.runbookUrl)
  ) {
    problems.push(
      'runbookUrl: use an http(s) address, e.g. "https://wiki.example.com/servicenow-token-runbook"',
    );
  }
  if (expiryWarningDays.length === 0 || expiryWarningDays.some((d) => !Number.isInteger(d) || d < 1)) {
    problems.push('expiryWarningDays: list whole days of 1 or more, e.g. [30, 14, 7, 3, 1]');
  }
  const instances = props.instances.map((i) => ({
    name: i.name,
    url: i.url,
    credentialsSecretId: `${prefix}${i.name}/credentials`,
    accessTokenSecretId: `${prefix}${i.name}/access-token`,
    ...(i.probePath !== undefined && { probePath: i.probePath }),
    ...(i.expiryWarningDays !== undefined && { expiryWarningDays: [...i.expiryWarningDays] }),
  }));
  problems.push(...principalArnProblems(props));
  const parsed = instanceListSchema.safeParse(instances);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [index, ...rest] = issue.path;
      const field =
        typeof index === 'number'
          ? `instances[${index}]${rest.map((k) => `.${String(k)}`).join('')}`
          : 'instances';
      problems.push(`${field}: ${issue.message}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`ServiceNowTokenRefresher props are invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    instances,
    refreshInterval,
    probeInterval,
    deadManPeriod,
    refreshAhead,
    gracePeriod,
    reminderInterval,
    expiryWarningDays,
  };
}

/** The ARNs the secrets' policies name must mean something (lib/security-checks.ts). */
function principalArnProblems(props: ServiceNowTokenRefresherProps): string[] {
  const problems: string[] = [];
  for (const field of ['operatorPrincipalArns', 'accessTokenReaderArns'] as const) {
    (props[field] ?? []).forEach((arn, index) => {
      if (Token.isUnresolved(arn)) return;
      const problem = operatorArnProblem(arn);
      if (problem) problems.push(`${field}[${index}]: ${problem}`);
    });
  }
  return problems;
}

/**
 * The instance list every function bundles as instances.json: Lambda's 4 KB environment could not
 * hold 200 instances. Secret IDs are names, known at synth (ARNs carry a random suffix).
 */
function writeInstancesFile(instances: readonly InstanceConfig[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'servicenow-token-instances-'));
  const file = join(dir, 'instances.json');
  writeFileSync(file, `${JSON.stringify(instances, null, 2)}\n`);
  return file;
}
