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
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../lambda/shared/deployment-contract';
import { AlertTopic, newMessagesKey } from './alert-topic';
import { DeadManSwitch } from './dead-man-switch';
import { instanceGroup, instanceGroupId, MAX_INSTANCES_PER_GROUP } from './instance-groups';
import { instanceConfigs, writeInstancesFile } from './instance-list';
import { InstanceResources } from './instance-resources';
import { OperationalAlarms } from './operational-alarms';
import { RefresherDashboard } from './refresher-dashboard';
import { parseRefresherProps, type RefresherSettings } from './refresher-props-schema';
import { ACCESS_TOKEN_READER_TAG, defaultDeploymentRoleArn, type SecretPrincipals } from './secret-policies';
import { ServiceNowGrant } from './servicenow-grant';
import { TokenFunction } from './token-function';

/** One ServiceNow instance whose access token the construct keeps fresh. */
export interface ServiceNowInstance {
  /**
   * Lower-case letters, digits and dashes, up to 63 characters, e.g. "acme-prod"; unique among the
   * instances. Part of the secret names and the state table's key, so never rename.
   */
  readonly name: string;
  /**
   * The instance address, e.g. "https://acme.service-now.com": https only, as the functions
   * enforce (plain http is accepted on loopback alone, for local rehearsals against a simulator).
   */
  readonly url: string;
  /**
   * The REST API path the probe reads with the stored token, e.g. "/api/now/table/incident?sysparm_limit=1".
   * @default - the probe reads one row of sys_user, which the integration user can read on every instance
   */
  readonly probePath?: string;
  /**
   * Days before this instance's refresh token (or certificate) ends at which to warn.
   * @default - the construct's `expiryWarningDays`
   */
  readonly expiryWarningDays?: readonly number[];
  /**
   * The grant `snow-token bootstrap` sets up, recorded as a tag on the credentials secret. The
   * secret itself says which grant applies.
   * @default - ServiceNowGrant.PASSWORD: a password grant once, then refresh tokens
   */
  readonly grant?: ServiceNowGrant;
  /**
   * The refresh token lifespan on the instance's Application Registry record, in whole days from 1
   * to 3650 (password grant only); recorded as a tag on the credentials secret (bootstrap stores
   * the one that applies).
   * @default - 100 days, ServiceNow's default
   */
  readonly refreshTokenLifespan?: Duration;
  /**
   * The access-token lifespan on the instance's Application Registry record, in whole seconds from
   * 300 to 86400. The refresher never records a longer life than this: an `expires_in` above it is
   * stored as this lifespan (and logged), so a wrong or hostile answer cannot make readers trust a
   * token for longer than the instance issues them.
   * @default - no per-instance cap: `expires_in` is trusted up to one day
   */
  readonly accessTokenLifespan?: Duration;
}

export interface ServiceNowTokenRefresherProps {
  /** The instances to keep tokens for: at least one, each name once. */
  readonly instances: readonly ServiceNowInstance[];
  /**
   * Secret names are `<prefix><instance>/credentials` and `<prefix><instance>/access-token`; the
   * roles are scoped to this prefix, so no other secret may use it. Letters, digits or _+=.@-, in
   * segments that each end with "/".
   * @default - "servicenow-token/"
   */
  readonly secretNamePrefix?: string;
  /**
   * IAM principal ARNs (wildcards allowed, as in aws:PrincipalArn) that, besides the refresher,
   * may read and write the credentials secrets: the people or roles running `snow-token bootstrap`.
   * ARN strings rather than IRole because operators are often SSO roles matched by pattern.
   * @default - none: nobody but the refresher can read or write credentials, so bootstrap is impossible until one is added (synth warns)
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
   * @default - none: only the construct's functions, the operators and grantReadAccessToken's grantees read the access tokens
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
   * customer managed key with rotation ($1 a month); with your own `alertTopic`, the queue alone.
   * What leaving it off gives up: encryption at rest of the alert texts (instance names, dates,
   * advice; never a token) and of failed events. CloudWatch alarms cannot publish to a topic under
   * the AWS managed aws/sns key, so there is no free middle way for the topic.
   * @default - false: the topic is not encrypted at rest (TLS is still enforced) and the queue uses SQS-managed encryption
   */
  readonly createAlertTopicKey?: boolean;
  /**
   * A CloudWatch dashboard ($3 a month beyond an account's first three). It also makes the
   * functions publish the fleet figures it graphs (7 metrics, $2.10 a month) unless
   * `perInstanceMetrics` is set. What leaving it off gives up: graphs; every alert and alarm
   * still fires, and the CLI's `status` shows each instance.
   * @default - false: no dashboard, and no fleet metrics published for it
   */
  readonly dashboard?: boolean;
  /**
   * Publish the 7 detail metrics (refresh and probe success and failure, probe latency, seconds
   * and days remaining) per instance, with an `instance` dimension: $2.10 per instance-month. The
   * dashboard, when on, then draws one line per instance. No alarm needs them: the dead-man's
   * switch reads one fleet metric.
   * @default - false: no per-instance metrics
   */
  readonly perInstanceMetrics?: boolean;
  /**
   * The topic every alert and alarm goes to. Its policy stays yours: the construct grants the
   * functions sns:Publish but cannot restrict who else publishes, and creates no topic or key of
   * its own for it.
   * @default - a new topic, SSL-only, that CloudWatch alarms of this account may publish to and only the functions, the operators and those alarms publish to
   */
  readonly alertTopic?: sns.ITopic;
  /**
   * Email addresses subscribed to the new alert topic (ignored when `alertTopic` is given).
   * @default - no subscriptions: subscribe someone before relying on the alerts (the expiry watch reports a topic nobody confirmed)
   */
  readonly alertEmails?: readonly string[];
  /**
   * Where the functions put alert events.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * How often the refresher runs: whole minutes from 1 to 15.
   * @default - every minute
   */
  readonly refreshInterval?: Duration;
  /**
   * How often the probe checks each stored token: whole minutes from 1 to 60.
   * @default - every 5 minutes
   */
  readonly probeInterval?: Duration;
  /**
   * When the expiry watch counts down the refresh tokens.
   * @default - every day at 08:00 UTC
   */
  readonly expiryWatchSchedule?: events.Schedule;
  /**
   * How long an instance may go without a new access token before the dead-man's switch fires:
   * whole minutes, at most a day.
   * @default - 2 hours
   */
  readonly deadManPeriod?: Duration;
  /**
   * How long before the stored expiry the refresher asks for a new token: whole seconds, at most
   * an hour.
   * @default - 5 minutes before the expiry
   */
  readonly refreshAhead?: Duration;
  /**
   * How long a probe failure may last before it alerts: whole minutes, at most a day.
   * @default - 15 minutes
   */
  readonly gracePeriod?: Duration;
  /**
   * How often an open incident is re-announced: whole minutes, from an hour to 30 days.
   * @default - every 24 hours
   */
  readonly reminderInterval?: Duration;
  /**
   * Days before the refresh token's end at which to warn: 1 to 10 distinct whole days, each 1 to 365.
   * @default - 30, 14, 7, 3 and 1 days before the end
   */
  readonly expiryWarningDays?: readonly number[];
  /**
   * How long the functions' log groups keep their logs.
   * @default - three months (logs.RetentionDays.THREE_MONTHS)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What becomes of the secrets and the state table when they leave the stack (log groups are
   * always destroyed).
   * @default - RemovalPolicy.RETAIN: they stay, and the table keeps its deletion protection
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Tags put on every secret (the stack's tags apply as well).
   * @default - none beyond the construct's own `servicenow-token:*` tags
   */
  readonly secretTags?: Readonly<Record<string, string>>;
  /**
   * The runbook ops follow, e.g. your copy of docs/runbook.md in your wiki or repository: emails link
   * its sections (the anchors of docs/runbook.md are appended) and alarm descriptions link it.
   * @default - no link: the emails carry the steps inline, alarm descriptions name docs/runbook.md
   */
  readonly runbookUrl?: string;
}

/**
 * The logger takes its service name from POWERTOOLS_SERVICE_NAME; the metrics take namespace and
 * service from METRICS itself, because the alarms are built on them, so the second variable only
 * tells a reader of the function's configuration where its metrics go.
 */
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
    const settings = parseRefresherProps(props, this.node.path);
    const prefix = settings.secretNamePrefix;
    this.secretNamePrefix = prefix;
    this.encryptionKey = settings.encryptionKey;
    const removalPolicy = settings.removalPolicy;
    // Alarm and dashboard names are unique per account and region: the stack's name and the prefix
    // (without its slash), in characters both accept, so two stacks with one prefix do not collide.
    const alarmNamePrefix = `${Stack.of(this).stackName}-${prefix.replace(/\/+$/, '')}`.replace(
      /[^A-Za-z0-9_-]/g,
      '-',
    );
    if (settings.operatorPrincipalArns.length === 0) {
      Validations.of(this).addWarning(
        'NoOperators',
        'operatorPrincipalArns is empty: only the refresher can read or write the credentials secrets, so nobody can run "snow-token bootstrap". Add the operators\' role ARNs, e.g. "arn:aws:iam::123456789012:role/ServiceNowTokenOperator".',
      );
    }
    this.instanceNames = settings.instances.map((i) => i.name);

    const alerts = settings.alertTopic
      ? undefined
      : new AlertTopic(this, 'Alerts', {
          encryptionKey: settings.encryptionKey,
          createKey: settings.createAlertTopicKey,
          emails: settings.alertEmails,
        });
    this.alertTopic = settings.alertTopic ?? (alerts as AlertTopic).topic;
    // The failed-invocations queue shares our topic's key. With a topic of the caller's: the given
    // key, or a new one when asked for (under the construct path it always had, so a deployed key
    // stays); without a key, SQS-managed encryption.
    const messagesKey =
      alerts?.key ??
      settings.encryptionKey ??
      (settings.alertTopic && settings.createAlertTopicKey
        ? newMessagesKey(new Construct(this, 'QueueKey'), 'Key')
        : undefined);
    const { dashboard, perInstanceMetrics } = settings;

    const table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'instance', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: settings.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: settings.encryptionKey,
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

    const eventBus = settings.eventBus ?? events.EventBus.fromEventBusName(this, 'EventBus', 'default');
    const instances = instanceConfigs(settings);
    const instancesFile = writeInstancesFile(instances);
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
      RUNBOOK_URL: settings.runbookUrl ?? '',
    };
    const common = {
      instancesFile,
      logRetention: settings.logRetention,
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
      ...settings.operatorPrincipalArns,
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
      [expiryWatch, settings.expiryWatchSchedule],
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
      runbookUrl: settings.runbookUrl,
    });
    this.deadManSwitch = new DeadManSwitch(this, 'DeadManSwitch', {
      topic: this.alertTopic,
      deadManPeriod: settings.deadManPeriod,
      probeInterval: settings.probeInterval,
      alarmNamePrefix,
      runbookUrl: settings.runbookUrl,
    });
    this.alarms = [
      ...operationalAlarms.alarms,
      this.deadManSwitch.silentInstancesAlarm,
      this.deadManSwitch.noReadingAlarm,
    ];

    const groups = new Map<string, NestedStack>();
    instances.forEach((instance, index) => {
      const source = settings.instances[index] as RefresherSettings['instances'][number];
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
          principals: this.secretPrincipals(settings, refresher, probe),
          encryptionKey: settings.encryptionKey,
          removalPolicy,
          tags: settings.secretTags,
          credentialsTags: {
            'servicenow-token:grant': source.grant,
            ...(source.grant === ServiceNowGrant.PASSWORD && {
              'servicenow-token:refresh-token-lifespan-days': String(source.refreshTokenLifespan.toDays()),
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
    settings: RefresherSettings,
    refresher: TokenFunction,
    probe: TokenFunction,
  ): SecretPrincipals {
    const deployment = settings.deploymentRoleArn ?? defaultDeploymentRoleArn(this);
    if (deployment === undefined) {
      throw new Error(
        `${this.node.path}: deploymentRoleArn is needed when the stack does not use the DefaultStackSynthesizer: the secrets' policies let only that role change or delete them, e.g. "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1"`,
      );
    }
    const readerArns = this.readerArns;
    return {
      refresher: refresher.role.roleArn,
      probe: probe.role.roleArn,
      operators: settings.operatorPrincipalArns,
      // Read when the policy is rendered (lazily, at synth): grants may come after construction.
      get accessTokenReaders() {
        return [...settings.accessTokenReaderArns, ...readerArns];
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
