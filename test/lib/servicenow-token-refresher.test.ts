import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackFromConfig, templates, testApp, testConfig, withoutAssetHashes } from '../../harness/cdk/synth';
import type { ServiceNowTokenRefresherStack } from '../../lib/servicenow-token-refresher-stack';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

let stack: ServiceNowTokenRefresherStack;
let parent: Template;
let nested: Template[];
let consumer: Template;

/** Logical IDs of the three functions and their roles, found by the entry they were built from. */
function logicalId(template: Template, type: string, pathPart: string): string {
  const found = Object.entries(template.findResources(type)).find(([id]) => id.includes(pathPart));
  if (!found) throw new Error(`no ${type} with ${pathPart} in its logical ID`);
  return found[0];
}

function roleId(fn: 'Refresher' | 'Probe' | 'ExpiryWatch'): string {
  const fnId = logicalId(
    parent,
    'AWS::Lambda::Function',
    fn === 'Refresher' ? 'TokenRefresherFunction' : `${fn}Function`,
  );
  return (parent.toJSON().Resources[fnId].Properties.Role['Fn::GetAtt'] as string[])[0] as string;
}

function statementsOf(template: Template, role: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${role}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actions = (s: Statement) => [s.Action].flat();
const resourceText = (s: Statement) => JSON.stringify(s.Resource);
const secretActionsOn = (statements: Statement[], kind: 'credentials' | 'access-token' | 'consumer-*') =>
  statements
    .filter((s) => s.Effect === 'Allow' && resourceText(s).includes(`/${kind}-??????`))
    .flatMap(actions)
    .sort();

beforeAll(() => {
  const app = testApp();
  stack = stackFromConfig(app, testConfig());
  // A sync job in another stack of the same app, granted what consumers are offered.
  const jobStack = new Stack(app, 'SyncJob');
  const jobRole = new iam.Role(jobStack, 'JobRole', {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  });
  stack.refresher.grantReadAccessToken(jobRole, 'acme');
  stack.refresher.grantRequestRefresh(jobRole);
  ({ parent, nested } = templates(stack));
  consumer = templates(jobStack).parent;
});

describe('the functions', () => {
  it('run Node.js 24 on arm64 from the esbuild ESM bundle', () => {
    parent.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' },
      3,
    );
  });

  it.each([
    ['TokenRefresherFunction', 150],
    ['ProbeFunction', 60],
    ['ExpiryWatchFunction', 60],
  ])('%s has its contract timeout of %i s', (fn, timeout) => {
    const id = logicalId(parent, 'AWS::Lambda::Function', fn);
    expect(parent.toJSON().Resources[id].Properties.Timeout).toBe(timeout);
  });

  it('get the environment the handlers validate, with the instance list as a bundled file', () => {
    const common = {
      STATE_TABLE_NAME: { Ref: Match.stringLikeRegexp('StateTable') },
      INSTANCES_FILE: 'instances.json',
      POWERTOOLS_SERVICE_NAME: 'servicenow-token-refresher',
      POWERTOOLS_METRICS_NAMESPACE: 'ServiceNowTokenRefresher',
      NODE_OPTIONS: '--enable-source-maps',
      ALERT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('AlertsTopic') },
      EVENT_BUS_NAME: 'default',
      SCHEDULE_INTERVAL_SECONDS: '60',
      // By default only the dead-man's metric, which is published whatever these say.
      METRICS_FLEET: 'false',
      METRICS_PER_INSTANCE: 'false',
    };
    const env = (extra: Record<string, unknown>) => ({
      Environment: { Variables: Match.objectLike({ ...common, ...extra }) },
    });
    parent.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Keeps each'),
      ...env({ REFRESH_AHEAD_SECONDS: '300' }),
    });
    parent.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Checks that'),
      ...env({
        REFRESHER_FUNCTION_NAME: { Ref: Match.stringLikeRegexp('TokenRefresherFunction') },
        GRACE_PERIOD_SECONDS: '900',
        REMINDER_HOURS: '24',
        DEAD_MAN_SECONDS: '7200',
      }),
    });
    parent.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Warns before'),
      ...env({ EXPIRY_WARNING_DAYS: '30,14,7,3,1', REMINDER_HOURS: '24' }),
    });
  });

  it('log to explicit log groups kept for 90 days', () => {
    parent.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 90 }, 3);
    parent.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('LogGroup') }, LogFormat: 'JSON' } },
      3,
    );
  });

  it('send failed scheduled runs to the failed-invocations queue; the refresher does not retry (the next minute does)', () => {
    const destination = {
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedInvocations'), 'Arn'] } },
      },
    };
    parent.resourcePropertiesCountIs('AWS::Lambda::EventInvokeConfig', destination, 3);
    parent.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('TokenRefresherFunction') },
      MaximumRetryAttempts: 0,
    });
  });
});

describe('the schedules', () => {
  it.each([
    ['TokenRefresherFunction', 'rate(1 minute)'],
    ['ProbeFunction', 'rate(5 minutes)'],
    ['ExpiryWatchFunction', 'cron(0 8 * * ? *)'],
  ])('invoke %s on %s', (fn, expression) => {
    parent.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: expression,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp(fn), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedInvocations'), 'Arn'] } },
        }),
      ],
    });
  });
});

describe('IAM on the secrets', () => {
  it('lets the refresher read and write credentials, and only write access tokens', () => {
    const statements = statementsOf(parent, roleId('Refresher'));

    expect(secretActionsOn(statements, 'credentials')).toEqual([
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
    ]);
    expect(secretActionsOn(statements, 'access-token')).toEqual(['secretsmanager:PutSecretValue']);
  });

  it('lets the probe read access tokens and nothing else in Secrets Manager', () => {
    const statements = statementsOf(parent, roleId('Probe'));

    expect(secretActionsOn(statements, 'access-token')).toEqual(['secretsmanager:GetSecretValue']);
    expect(secretActionsOn(statements, 'credentials')).toEqual([]);
    expect(statements.flatMap(actions).filter((a) => a.startsWith('secretsmanager:'))).toEqual([
      'secretsmanager:GetSecretValue',
    ]);
  });

  it("lets the expiry watch read the watched tools' tokens and no other secret", () => {
    const statements = statementsOf(parent, roleId('ExpiryWatch'));

    expect(secretActionsOn(statements, 'consumer-*')).toEqual(['secretsmanager:GetSecretValue']);
    expect(secretActionsOn(statements, 'credentials')).toEqual([]);
    expect(secretActionsOn(statements, 'access-token')).toEqual([]);
    expect(statements.flatMap(actions).filter((a) => a.startsWith('secretsmanager:'))).toEqual([
      'secretsmanager:GetSecretValue',
    ]);
  });

  it('lets only the refresher write any secret', () => {
    const writers = Object.values(parent.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('secretsmanager:PutSecretValue'),
    );

    expect(writers.map((p) => p.Properties.Roles)).toEqual([[{ Ref: roleId('Refresher') }]]);
  });

  it('give no function DeleteItem, BatchWriteItem or Scan on the state table', () => {
    const statements = Object.values(parent.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    const dynamo = statements.flatMap(actions).filter((a) => a.startsWith('dynamodb:'));

    expect(dynamo.length).toBeGreaterThan(0);
    for (const forbidden of [
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:Scan',
      'dynamodb:*',
    ]) {
      expect(dynamo).not.toContain(forbidden);
    }
  });

  it('guards both secrets of each instance with a resource policy of explicit denies (evaluated in secret-policies.test.ts)', () => {
    const policies = nested.flatMap((t) =>
      Object.values(t.findResources('AWS::SecretsManager::ResourcePolicy')),
    );

    expect(policies).toHaveLength(4);
    for (const policy of policies) {
      const kind = /Credentials/.test(policy.Properties.SecretId.Ref) ? 'Credentials' : 'AccessToken';
      expect(policy.Properties.BlockPublicPolicy).toBe(true);
      expect(policy.Properties.ResourcePolicy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual(
        kind === 'Credentials'
          ? [
              'OnlyRefresherAndOperatorsReadCredentials',
              'OnlyRefresherAndOperatorsWriteCredentials',
              'OnlyOperatorsAndDeploymentUpdateCredentials',
              'OnlyDeploymentAdministersCredentials',
            ]
          : [
              'OnlyReadersReadAccessToken',
              'OnlyRefresherAndOperatorsWriteAccessToken',
              'OnlyOperatorsAndDeploymentUpdateAccessToken',
              'OnlyDeploymentAdministersAccessToken',
            ],
      );
      for (const statement of policy.Properties.ResourcePolicy.Statement) {
        expect(statement).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Resource: '*' });
      }
    }
  });

  it('lets a consumer read one access token and ask for a refresh, never touch credentials', () => {
    const statements = Object.values(consumer.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );

    expect(statements.flatMap(actions).sort()).toEqual([
      'lambda:InvokeFunction',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    const secretStatement = statements.find((s) => actions(s).includes('secretsmanager:GetSecretValue'));
    expect(resourceText(secretStatement as Statement)).toContain('servicenow-token/acme/access-token-??????');
    const invoke = statements.find((s) => actions(s).includes('lambda:InvokeFunction'));
    expect(resourceText(invoke as Statement)).toMatch(/TokenRefresherFunction.*Arn/);
    expect(JSON.stringify(statements)).not.toContain('credentials');
  });
});

describe('the secrets', () => {
  it('are created per instance under stable names, with no value (bootstrap fills them), and retained', () => {
    const secrets = nested.flatMap((t) => Object.values(t.findResources('AWS::SecretsManager::Secret')));

    expect(secrets.map((s) => s.Properties.Name).sort()).toEqual([
      'servicenow-token/acme/access-token',
      'servicenow-token/acme/credentials',
      'servicenow-token/globex/access-token',
      'servicenow-token/globex/credentials',
    ]);
    for (const secret of secrets) {
      expect(secret.Properties).not.toHaveProperty('SecretString');
      expect(secret.Properties).not.toHaveProperty('GenerateSecretString');
      expect(secret.DeletionPolicy).toBe('Retain');
    }
  });

  it('record the grant and the refresh token lifespan on the credentials secret for operators', () => {
    const credentials = nested
      .flatMap((t) => Object.values(t.findResources('AWS::SecretsManager::Secret')))
      .find((s) => s.Properties.Name === 'servicenow-token/acme/credentials');

    expect(credentials?.Properties.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'servicenow-token:grant', Value: 'password' },
        { Key: 'servicenow-token:refresh-token-lifespan-days', Value: '100' },
      ]),
    );
  });
});

describe('a deployment without operators', () => {
  it('warns at synth that nobody could bootstrap the credentials', () => {
    const lonely = stackFromConfig(
      testApp(),
      testConfig({ stackName: 'NoOperators', operatorPrincipalArns: [] }),
    );

    Annotations.fromStack(lonely).hasWarning(
      '/NoOperators/TokenRefresher',
      Match.stringLikeRegexp('operatorPrincipalArns is empty: only the refresher'),
    );
  });
});

describe('the state table', () => {
  it('is keyed by instance, on demand, with point-in-time recovery, encryption and deletion protection', () => {
    parent.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'instance', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('the alert topic', () => {
  it('has no customer managed key by default (a choice: alerts carry no secret, and a key costs $1 a month)', () => {
    parent.resourceCountIs('AWS::KMS::Key', 0);
    parent.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.absent() });
    parent.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('is encrypted with a rotating key that CloudWatch may use when createTopicKey is set', () => {
    const withKey = templates(
      stackFromConfig(testApp(), testConfig({ alerts: { emails: [], createTopicKey: true } })),
    ).parent;

    withKey.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlertsKey'), 'Arn'] },
    });
    withKey.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlertsKey'), 'Arn'] },
    });
    withKey.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('refuses requests without TLS and accepts alarm notifications from this account only', () => {
    parent.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  it('mails the configured addresses', () => {
    parent.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('the alarms', () => {
  const TO_TOPIC = [{ Ref: Match.stringLikeRegexp('AlertsTopic') }];
  /** The two dead-man alarms read one metric, published under the construct's metrics service. */
  const silentInstancesAlarm = (name: string, props: Record<string, unknown>) =>
    parent.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `ServiceNowTokenRefresher-servicenow-token-${name}`,
      Namespace: 'ServiceNowTokenRefresher',
      MetricName: 'SilentInstances',
      Dimensions: [{ Name: 'service', Value: 'servicenow-token-refresher' }],
      Threshold: 1,
      AlarmActions: TO_TOPIC,
      ...props,
    });

  it.each(['refresher', 'probe', 'expiry-watch'])(
    'alarm to the topic when the %s function fails or is throttled',
    (fn) => {
      for (const metric of ['Errors', 'Throttles']) {
        parent.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: `ServiceNowTokenRefresher-servicenow-token-${fn}-${metric.toLowerCase()}`,
          MetricName: metric,
          Namespace: 'AWS/Lambda',
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: TO_TOPIC,
        });
      }
    },
  );

  it('alarm when a failed run lands in the failed-invocations queue', () => {
    parent.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      AlarmActions: TO_TOPIC,
    });
  });

  it('have one dead-man switch for every instance: any instance without a new token for 2 hours', () => {
    silentInstancesAlarm('no-refresh', {
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      OKActions: TO_TOPIC,
    });
  });

  it('alarm when the dead-man reading itself stops for 2 hours: silence counts', () => {
    silentInstancesAlarm('dead-man-silent', {
      Statistic: 'SampleCount',
      Period: 7200,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('cost nothing per instance: no alarm in the instance groups', () => {
    for (const t of nested) t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });
});

describe('the dashboard', () => {
  /** The dashboard body's text, without the references CloudFormation fills in. */
  const bodyOf = (template: Template) => {
    const body = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties
      .DashboardBody as { 'Fn::Join': [string, unknown[]] };
    return body['Fn::Join'][1].filter((part) => typeof part === 'string').join('');
  };
  const detail = [
    'RefreshTokenDaysRemaining',
    'AccessTokenSecondsRemaining',
    'RefreshSuccess',
    'ProbeSuccess',
    'ProbeLatency',
  ];
  const functionsOf = (template: Template) =>
    Object.values(template.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.Environment.Variables as Record<string, string>,
    );

  it('is not there by default, and the functions publish no detail metrics for it', () => {
    parent.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(parent.toJSON().Outputs)).not.toContain('DashboardName');
  });

  it('shows the fleet figures, which the functions then publish, when monitoring.dashboard is set', () => {
    const t = templates(stackFromConfig(testApp(), testConfig({ monitoring: { dashboard: true } }))).parent;
    const body = bodyOf(t);

    for (const metric of detail) {
      expect(body).toContain(`"ServiceNowTokenRefresher","${metric}","service","servicenow-token-refresher"`);
    }
    expect(body).toContain('SilentInstances');
    expect(body).not.toContain('SEARCH');
    for (const env of functionsOf(t))
      expect(env).toMatchObject({ METRICS_FLEET: 'true', METRICS_PER_INSTANCE: 'false' });
    t.hasOutput('DashboardName', {});
  });

  it('shows one line per instance when perInstanceMetrics is set as well', () => {
    const t = templates(
      stackFromConfig(testApp(), testConfig({ monitoring: { dashboard: true, perInstanceMetrics: true } })),
    ).parent;
    const body = bodyOf(t);

    for (const metric of detail) {
      expect(body).toContain(`{ServiceNowTokenRefresher,instance,service} MetricName=\\"${metric}\\"`);
    }
    for (const env of functionsOf(t))
      expect(env).toMatchObject({ METRICS_FLEET: 'false', METRICS_PER_INSTANCE: 'true' });
  });
});

describe('the outputs', () => {
  it('name the topic, the functions, the table and the secret names', () => {
    for (const name of [
      'AlertTopicArn',
      'RefresherFunctionName',
      'ProbeFunctionName',
      'ExpiryWatchFunctionName',
      'StateTableName',
      'AccessTokenSecretNamePattern',
      'CredentialsSecretNamePattern',
    ]) {
      parent.hasOutput(name, {});
    }
    parent.hasOutput('AccessTokenSecretNamePattern', { Value: 'servicenow-token/<instance>/access-token' });
  });

  it('give each instance its secret names and ARNs in its nested stack', () => {
    const outputs = nested.flatMap((t) => Object.values(t.toJSON().Outputs ?? {})) as { Value: unknown }[];
    const text = JSON.stringify(outputs);

    expect(outputs).toHaveLength(2);
    expect(text).toContain('servicenow-token/acme/access-token');
    expect(text).toContain('accessTokenSecretArn');
  });
});

it('matches the snapshot (asset hashes stripped)', () => {
  expect(
    withoutAssetHashes({ parent: parent.toJSON(), nested: nested.map((t) => t.toJSON()) }),
  ).toMatchSnapshot();
});
