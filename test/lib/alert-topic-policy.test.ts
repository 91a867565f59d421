import type { Simulation } from '@cloud-copilot/iam-simulate';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, policyDecision, REGION, roleArn, roleRequest } from '../../harness/cdk/policy-simulation';
import { stackFromConfig, templates, testApp, testConfig } from '../../harness/cdk/synth';

/**
 * Alert authenticity: the synthesized topic policy, evaluated by the same open-source IAM policy
 * simulator as the secrets' policies. Every principal holds sns:* in its identity policy, like an
 * account administrator, so what is allowed is exactly what the topic policy leaves open.
 */
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`;
const ROLES = {
  refresher: roleArn('refresher-role'),
  probe: roleArn('probe-role'),
  expiryWatch: roleArn('expiry-watch-role'),
  operator: roleArn('ServiceNowTokenOperator'),
  admin: roleArn('Admin'),
  otherFunction: roleArn('SomeOtherLambda'),
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

function decision(who: Who, action = 'sns:Publish'): Promise<string> {
  if (who !== 'cloudwatch' && who !== 'otherService') {
    return policyDecision(roleRequest(ROLES[who], action, TOPIC), topicPolicy, 'sns');
  }
  const service = who === 'cloudwatch' ? 'cloudwatch.amazonaws.com' : 'lambda.amazonaws.com';
  const request: Simulation['request'] = {
    principal: service,
    action,
    resource: { resource: TOPIC, accountId: ACCOUNT },
    contextVariables: {
      'aws:PrincipalServiceName': service,
      'aws:SourceAccount': ACCOUNT,
      'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:acme-errors`,
    },
  };
  return policyDecision(request, topicPolicy);
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
