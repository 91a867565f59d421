import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, policyDecision, REGION, roleArn, roleRequest } from '../../harness/cdk/policy-simulation';
import { stackFromConfig, templates, testApp, testConfig } from '../../harness/cdk/synth';
import { ACCESS_TOKEN_READER_TAG, SECRET_ACTIONS } from '../../lib/secret-policies';

/**
 * The synthesized resource policies of both secrets, evaluated by an open-source IAM policy
 * simulator (@cloud-copilot/iam-simulate) for a table of principals and actions. Every principal
 * holds secretsmanager:* on everything in its identity policy, like an account administrator, so
 * what is allowed here is exactly what the resource policies leave open.
 */
const P = {
  refresher: roleArn('refresher-role'),
  probe: roleArn('probe-role'),
  operator: roleArn('ServiceNowTokenOperator'),
  deployment: roleArn(`cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`),
  taggedReader: roleArn('SyncJobRole'),
  listedReader: roleArn('ExternalSyncJob'),
  admin: roleArn('Admin'),
  otherAppReader: roleArn('OtherApp'),
} as const;
type Who = keyof typeof P;
/** Role tags as aws:PrincipalTag sees them. */
const TAGS: Partial<Record<Who, Record<string, string>>> = {
  taggedReader: { [ACCESS_TOKEN_READER_TAG]: 'servicenow-token/' },
  // Tagged for another deployment's prefix: not a reader of this one.
  otherAppReader: { [ACCESS_TOKEN_READER_TAG]: 'other-prefix/' },
};

let policies: { credentials: unknown; accessToken: unknown };

/** Replaces the nested stacks' parameters and pseudo parameters with the test's concrete ARNs. */
function concrete(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(concrete);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === 'string') {
      if (/RefresherRole/.test(record.Ref)) return P.refresher;
      if (/ProbeRole/.test(record.Ref)) return P.probe;
      throw new Error(`unexpected reference ${record.Ref}`);
    }
    if (typeof record['Fn::Sub'] === 'string') {
      return record['Fn::Sub']
        .replace(/\$\{AWS::Partition\}/g, 'aws')
        .replace(/\$\{AWS::AccountId\}/g, ACCOUNT)
        .replace(/\$\{AWS::Region\}/g, REGION);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, concrete(v)]));
  }
  return value;
}

beforeAll(() => {
  const app = testApp();
  const stack = stackFromConfig(
    app,
    testConfig({ accessTokenReaderArns: [P.listedReader], account: ACCOUNT, region: REGION }),
  );
  const jobStack = new Stack(app, 'SyncJob');
  const jobRole = new iam.Role(jobStack, 'JobRole', {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
  });
  stack.refresher.grantReadAccessToken(jobRole, 'acme');
  const found = templates(stack).nested.flatMap((t) =>
    Object.values(t.findResources('AWS::SecretsManager::ResourcePolicy')).map((r) => ({
      secret: String(r.Properties.SecretId.Ref),
      policy: concrete(r.Properties.ResourcePolicy),
    })),
  );
  const one = (kind: RegExp) => found.find((f) => kind.test(f.secret))?.policy;
  policies = { credentials: one(/Credentials/), accessToken: one(/AccessToken/) };
  // The job's role carries the reader tag, set by grantReadAccessToken.
  const tags = templates(jobStack).parent.toJSON().Resources;
  const jobRoleTags = Object.values(
    tags as Record<string, { Type: string; Properties: { Tags?: unknown } }>,
  ).find((r) => r.Type === 'AWS::IAM::Role')?.Properties.Tags;
  expect(jobRoleTags).toEqual([{ Key: ACCESS_TOKEN_READER_TAG, Value: 'servicenow-token/' }]);
});

function decision(policy: unknown, who: Who, action: string): Promise<string> {
  const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:servicenow-token/acme/x-AbCdEf`;
  const tags = Object.entries(TAGS[who] ?? {}).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]);
  const request = roleRequest(P[who], action, secret, Object.fromEntries(tags));
  return policyDecision(request, policy, 'secretsmanager');
}

const ALL: Who[] = Object.keys(P) as Who[];
const only = (...allowed: Who[]) => ALL.map((who) => [who, allowed.includes(who)] as const);

/** Who may do what: everyone not listed is explicitly denied, administrators included. */
const TABLE: {
  secret: 'credentials' | 'accessToken';
  actions: readonly string[];
  who: ReturnType<typeof only>;
}[] = [
  { secret: 'credentials', actions: SECRET_ACTIONS.read, who: only('refresher', 'operator') },
  { secret: 'credentials', actions: SECRET_ACTIONS.writeValue, who: only('refresher', 'operator') },
  { secret: 'credentials', actions: SECRET_ACTIONS.update, who: only('operator', 'deployment') },
  { secret: 'credentials', actions: SECRET_ACTIONS.administer, who: only('deployment') },
  {
    secret: 'accessToken',
    actions: SECRET_ACTIONS.read,
    who: only('refresher', 'operator', 'probe', 'taggedReader', 'listedReader'),
  },
  { secret: 'accessToken', actions: SECRET_ACTIONS.writeValue, who: only('refresher', 'operator') },
  { secret: 'accessToken', actions: SECRET_ACTIONS.update, who: only('operator', 'deployment') },
  { secret: 'accessToken', actions: SECRET_ACTIONS.administer, who: only('deployment') },
];

describe('the secrets resource policies, evaluated by an IAM policy simulator', () => {
  for (const row of TABLE) {
    for (const action of row.actions) {
      it(`${row.secret}: ${action} only for ${row.who
        .filter(([, ok]) => ok)
        .map(([w]) => w)
        .join(', ')}`, async () => {
        const policy = policies[row.secret];
        expect(policy).toBeDefined();
        for (const [who, allowed] of row.who) {
          expect({ who, result: await decision(policy, who, action) }).toEqual({
            who,
            result: allowed ? 'Allowed' : 'ExplicitlyDenied',
          });
        }
      });
    }
  }

  it('leaves describing the secret and reading its policy to identity policies', async () => {
    expect(await decision(policies.credentials, 'admin', 'secretsmanager:DescribeSecret')).toBe('Allowed');
    expect(await decision(policies.credentials, 'admin', 'secretsmanager:GetResourcePolicy')).toBe('Allowed');
  });
});

describe('the simulator itself, on AWS documented semantics', () => {
  const sm = 'secretsmanager:GetSecretValue';
  /** A resource policy of one statement: deny reading the secret to everyone, unless `condition` fails. */
  const denyReading = (condition?: Record<string, unknown>) => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Principal: '*',
        Action: sm,
        Resource: '*',
        ...(condition && { Condition: condition }),
      },
    ],
  });

  it('an explicit deny overrides an identity allow (policy evaluation logic)', async () => {
    const deny = denyReading();
    expect(await decision(deny, 'admin', sm)).toBe('ExplicitlyDenied');
  });
  it('ArnNotLike with a wildcard exempts matching principals only', async () => {
    const deny = denyReading({ ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/Sync*` } });
    expect(await decision(deny, 'taggedReader', sm)).toBe('Allowed');
    expect(await decision(deny, 'admin', sm)).toBe('ExplicitlyDenied');
  });
  it('conditions of one statement are ANDed: the deny applies only when both fail', async () => {
    const deny = denyReading({
      ArnNotLike: { 'aws:PrincipalArn': P.probe },
      StringNotEquals: { [`aws:PrincipalTag/${ACCESS_TOKEN_READER_TAG}`]: 'servicenow-token/' },
    });
    expect(await decision(deny, 'probe', sm)).toBe('Allowed');
    expect(await decision(deny, 'taggedReader', sm)).toBe('Allowed');
    expect(await decision(deny, 'otherAppReader', sm)).toBe('ExplicitlyDenied');
    expect(await decision(deny, 'admin', sm)).toBe('ExplicitlyDenied');
  });
});
