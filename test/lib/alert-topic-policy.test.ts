import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackFromConfig, templates, testApp, testConfig } from '../../harness/cdk/synth';

/**
 * Alert authenticity: the synthesized topic policy, evaluated by the same open-source IAM policy
 * simulator as the secrets' policies. Every principal holds sns:* in its identity policy, like an
 * account administrator, so what is allowed is exactly what the topic policy leaves open.
 */
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const ROLES = {
  refresher: role('refresher-role'),
  probe: role('probe-role'),
  expiryWatch: role('expiry-watch-role'),
  operator: role('ServiceNowTokenOperator'),
  admin: role('Admin'),
  otherFunction: role('SomeOtherLambda'),
} as const;
type Who = keyof typeof ROLES | 'cloudwatch' | 'otherService';

let topicPolicy: unknown;

/** Replaces the template's references with the test's concrete ARNs. */
function concrete(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(concrete);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const id = String(getAtt[0]);
      // The construct's id (TokenRefresher) prefixes every role: match the function's part first.
      if (/ProbeRole/.test(id)) return ROLES.probe;
      if (/ExpiryWatchRole/.test(id)) return ROLES.expiryWatch;
      if (/RefresherRole/.test(id)) return ROLES.refresher;
      throw new Error(`unexpected reference ${id}`);
    }
    if (typeof record.Ref === 'string') {
      if (/Topic/.test(record.Ref)) return TOPIC;
      if (record.Ref === 'AWS::AccountId') return ACCOUNT;
      if (record.Ref === 'AWS::Region') return REGION;
      if (record.Ref === 'AWS::Partition') return 'aws';
      throw new Error(`unexpected reference ${record.Ref}`);
    }
    if (Array.isArray(record['Fn::Join'])) {
      const [sep, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => concrete(p)).join(sep);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, concrete(v)]));
  }
  return value;
}

beforeAll(() => {
  const stack = stackFromConfig(testApp(), testConfig({ account: ACCOUNT, region: REGION }));
  const policies = Object.values(templates(stack).parent.findResources('AWS::SNS::TopicPolicy'));
  expect(policies).toHaveLength(1);
  topicPolicy = concrete(policies[0]?.Properties.PolicyDocument);
});

async function decision(who: Who, action = 'sns:Publish'): Promise<string> {
  const service = who === 'cloudwatch' ? 'cloudwatch.amazonaws.com' : 'lambda.amazonaws.com';
  const request: Simulation['request'] =
    who === 'cloudwatch' || who === 'otherService'
      ? {
          principal: service,
          action,
          resource: { resource: TOPIC, accountId: ACCOUNT },
          contextVariables: {
            'aws:PrincipalServiceName': service,
            'aws:SourceAccount': ACCOUNT,
            'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:acme-errors`,
          },
        }
      : {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLES[who].split('/').pop()}/session`,
          action,
          resource: { resource: TOPIC, accountId: ACCOUNT },
          contextVariables: { 'aws:PrincipalArn': ROLES[who], 'aws:PrincipalAccount': ACCOUNT },
        };
  const isService = who === 'cloudwatch' || who === 'otherService';
  const response = await runSimulation(
    {
      request,
      identityPolicies: isService
        ? []
        : [
            {
              name: 'administrator',
              policy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'sns:*', Resource: '*' }],
              },
            },
          ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: topicPolicy as Simulation['resourcePolicy'],
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

describe('the alert topic policy, evaluated by an IAM policy simulator', () => {
  it.each(['refresher', 'probe', 'expiryWatch', 'operator', 'cloudwatch'] as const)(
    'lets %s publish',
    async (who) => {
      expect(await decision(who)).toBe('Allowed');
    },
  );

  it.each(['admin', 'otherFunction'] as const)(
    'denies %s publishing, whatever its identity policy allows',
    async (who) => {
      expect(await decision(who)).toBe('ExplicitlyDenied');
    },
  );

  it('lets no other service publish', async () => {
    expect(await decision('otherService')).not.toBe('Allowed');
  });
});

describe('the failed-invocations key', () => {
  it('lets EventBridge encrypt the schedules failed invocations into the queue when the topic has a key', () => {
    const stack = stackFromConfig(
      testApp(),
      testConfig({
        account: ACCOUNT,
        region: REGION,
        alerts: { emails: ['ops@example.com'], createTopicKey: true },
      }),
    );
    templates(stack).parent.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'EventBridgeDeliversFailedInvocations',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
          }),
        ]),
      },
    });
    templates(stack).parent.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: Match.anyValue(),
    });
  });
});
