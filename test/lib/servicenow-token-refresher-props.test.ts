import { CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { testApp } from '../../harness/cdk/synth';
import type { InstanceConfig } from '../../lambda/shared/instance-config';
import { maxAccessTokenLifespanSeconds } from '../../lambda/shared/state/write-ahead';
import { ServiceNowGrant } from '../../lib';
import { instanceConfigs } from '../../lib/instance-list';
import { parseRefresherProps } from '../../lib/refresher-props-schema';
import {
  type ServiceNowInstance,
  ServiceNowTokenRefresher,
  type ServiceNowTokenRefresherProps,
} from '../../lib/servicenow-token-refresher';

/**
 * The construct's own validation, one failing input per rule, as aws-cdk-lib tests its constructs:
 * each must fail at synth with a message that names the prop and an allowed example.
 */
const ACME: ServiceNowInstance = { name: 'acme', url: 'https://acme.service-now.com' };
const OPERATOR = 'arn:aws:iam::123456789012:role/ServiceNowTokenOperator';

function refresher(
  props: Partial<ServiceNowTokenRefresherProps>,
  stack = new Stack(testApp(), 'Tokens'),
): ServiceNowTokenRefresher {
  return new ServiceNowTokenRefresher(stack, 'Refresher', {
    instances: [ACME],
    operatorPrincipalArns: [OPERATOR],
    ...props,
  });
}

/** For the inputs TypeScript would refuse, which JavaScript callers and casts still pass. */
const unchecked = <T>(value: unknown) => value as T;
const instance = (changes: Record<string, unknown>) => ({
  instances: [unchecked<ServiceNowInstance>({ ...ACME, ...changes })],
});

describe('invalid props fail at synth with the prop and an allowed example', () => {
  it.each<[string, Partial<ServiceNowTokenRefresherProps>, RegExp]>([
    ['no instances', { instances: [] }, /instances: list at least one instance, e\.g\. \[\{"name": "acme"/],
    [
      'an instance name with capitals',
      instance({ name: 'Acme' }),
      /instances\[0\]\.name: use lower-case letters, digits and dashes, e\.g\. "acme-prod"/,
    ],
    [
      'an instance listed twice',
      { instances: [ACME, { ...ACME }] },
      /instances\[1\]\.name: "acme" is listed twice; give each instance its own name, e\.g\. "acme-dev"/,
    ],
    [
      'an instance URL that is not a URL',
      instance({ url: 'acme' }),
      /instances\[0\]\.url: "acme" is not a URL\. .*e\.g\. https:\/\/acme\.service-now\.com/,
    ],
    [
      'an instance URL over plain http',
      instance({ url: 'http://acme.service-now.com' }),
      /instances\[0\]\.url: .* must use https .*e\.g\. https:\/\/acme\.service-now\.com/,
    ],
    [
      'an instance URL with a path',
      instance({ url: 'https://acme.service-now.com/now/nav' }),
      /instances\[0\]\.url: .* without a path, e\.g\. https:\/\/acme\.service-now\.com/,
    ],
    [
      'a probe path outside the REST API',
      instance({ probePath: '/login.do' }),
      /instances\[0\]\.probePath: use a REST API path on the instance, e\.g\. "\/api\/now\/table\/sys_user\?sysparm_limit=1"/,
    ],
    [
      "an instance's warning day of 0",
      instance({ expiryWarningDays: [0] }),
      /instances\[0\]\.expiryWarningDays\[0\]: use whole days of 1 or more, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'a misspelt grant',
      instance({ grant: 'pasword' }),
      /instances\[0\]\.grant: use one of password, client_credentials, jwt_bearer, e\.g\. "password" \(ServiceNowGrant\.PASSWORD\)/,
    ],
    [
      'a refresh-token lifespan in part days',
      instance({ refreshTokenLifespan: Duration.hours(36) }),
      /instances\[0\]\.refreshTokenLifespan: use whole days from 1 day to 3650 days, e\.g\. Duration\.days\(100\)/,
    ],
    [
      'a refresh-token lifespan beyond 10 years',
      instance({ refreshTokenLifespan: Duration.days(3651) }),
      /instances\[0\]\.refreshTokenLifespan: use whole days from 1 day to 3650 days, e\.g\. Duration\.days\(100\)/,
    ],
    [
      'an access-token lifespan under 5 minutes',
      instance({ accessTokenLifespan: Duration.seconds(299) }),
      /instances\[0\]\.accessTokenLifespan: use whole seconds from 5 minutes to 1 day, e\.g\. Duration\.days\(1\)/,
    ],
    [
      'an access-token lifespan over a day',
      instance({ accessTokenLifespan: Duration.hours(25) }),
      /instances\[0\]\.accessTokenLifespan: use whole seconds from 5 minutes to 1 day/,
    ],
    [
      'a secret prefix without a trailing slash',
      { secretNamePrefix: 'servicenow-token' },
      /secretNamePrefix: .* each end with "\/", e\.g\. "servicenow-token\/"/,
    ],
    [
      'a secret prefix with an empty segment',
      { secretNamePrefix: 'team//' },
      /secretNamePrefix: .* each end with "\/", e\.g\. "servicenow-token\/"/,
    ],
    [
      'an operator that is not an IAM ARN',
      { operatorPrincipalArns: ['alice'] },
      /operatorPrincipalArns\[0\]: "alice" is not an IAM role or user ARN of one account; use one like "arn:aws:iam::123456789012:role\/ServiceNowTokenOperator"/,
    ],
    [
      'a reader ARN with an account wildcard',
      { accessTokenReaderArns: ['arn:aws:iam::*:*'] },
      /accessTokenReaderArns\[0\]: .* is not an IAM role or user ARN of one account; use one like/,
    ],
    [
      'a deployment role that is not a role ARN',
      { deploymentRoleArn: 'cdk-hnb659fds-cfn-exec-role' },
      /deploymentRoleArn: use the role ARN CloudFormation deploys with, e\.g\. "arn:aws:iam::123456789012:role\/cdk-hnb659fds-cfn-exec-role-/,
    ],
    [
      'a topic key switch that is not a boolean',
      { createAlertTopicKey: unchecked<boolean>('yes') },
      /createAlertTopicKey: use true or false, e\.g\. false/,
    ],
    [
      'a dashboard switch that is not a boolean',
      { dashboard: unchecked<boolean>(1) },
      /dashboard: use true or false, e\.g\. false/,
    ],
    [
      'a per-instance metrics switch that is not a boolean',
      { perInstanceMetrics: unchecked<boolean>('true') },
      /perInstanceMetrics: use true or false, e\.g\. false/,
    ],
    [
      'a malformed email',
      { alertEmails: ['ops-at-example.com'] },
      /alertEmails\[0\]: use an email address, e\.g\. "integrations@example\.com"/,
    ],
    [
      'an email listed twice',
      { alertEmails: ['ops@example.com', 'OPS@example.com'] },
      /alertEmails: list each address once, e\.g\. \["integrations@example\.com"\]/,
    ],
    [
      'a refresh interval over 15 minutes',
      { refreshInterval: Duration.minutes(20) },
      /refreshInterval: use whole minutes from 1 minute to 15 minutes, e\.g\. Duration\.minutes\(1\)/,
    ],
    [
      'a refresh interval in part minutes',
      { refreshInterval: Duration.seconds(90) },
      /refreshInterval: use whole minutes from 1 minute to 15 minutes, e\.g\. Duration\.minutes\(1\)/,
    ],
    [
      'a probe interval over an hour',
      { probeInterval: Duration.hours(2) },
      /probeInterval: use whole minutes from 1 minute to 1 hour, e\.g\. Duration\.minutes\(5\)/,
    ],
    [
      'a dead-man period over a day',
      { deadManPeriod: Duration.days(2) },
      /deadManPeriod: use whole minutes from 1 minute to 1 day, e\.g\. Duration\.hours\(2\)/,
    ],
    [
      'a refresh-ahead of half a second',
      { refreshAhead: Duration.millis(500) },
      /refreshAhead: use whole seconds from 1 second to 1 hour, e\.g\. Duration\.minutes\(5\)/,
    ],
    [
      'a refresh-ahead over an hour',
      { refreshAhead: Duration.hours(2) },
      /refreshAhead: use whole seconds from 1 second to 1 hour, e\.g\. Duration\.minutes\(5\)/,
    ],
    [
      'a grace period over a day',
      { gracePeriod: Duration.days(2) },
      /gracePeriod: use whole minutes from 1 minute to 1 day, e\.g\. Duration\.minutes\(15\)/,
    ],
    [
      'a reminder interval under an hour',
      { reminderInterval: Duration.minutes(30) },
      /reminderInterval: use whole minutes from 1 hour to 30 days, e\.g\. Duration\.days\(1\)/,
    ],
    [
      'a duration that is not a Duration',
      { gracePeriod: unchecked<Duration>(900) },
      /gracePeriod: use whole minutes from 1 minute to 1 day, e\.g\. Duration\.minutes\(15\)/,
    ],
    [
      'no warning days',
      { expiryWarningDays: [] },
      /expiryWarningDays: list at least one day, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'a warning 400 days ahead',
      { expiryWarningDays: [400] },
      /expiryWarningDays\[0\]: warn at most 365 days ahead, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'a warning day in part days',
      { expiryWarningDays: [1.5] },
      /expiryWarningDays\[0\]: use whole days, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'a warning day listed twice',
      { expiryWarningDays: [7, 7] },
      /expiryWarningDays: list each day once, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'eleven warning days',
      { expiryWarningDays: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
      /expiryWarningDays: list at most 10 days, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'a log retention CloudWatch does not offer',
      { logRetention: unchecked<logs.RetentionDays>(91) },
      /logRetention: use a logs\.RetentionDays member, e\.g\. logs\.RetentionDays\.THREE_MONTHS/,
    ],
    [
      'a removal policy that does not exist',
      { removalPolicy: unchecked<RemovalPolicy>('keep') },
      /removalPolicy: use a RemovalPolicy member, e\.g\. RemovalPolicy\.RETAIN/,
    ],
    [
      'a secret tag key reserved for AWS',
      { secretTags: { 'aws:team': 'integrations' } },
      /secretTags\.aws:team: keys starting with "aws:" are reserved for AWS; use your own, e\.g\. "team"/,
    ],
    [
      'a secret tag value over 256 characters',
      { secretTags: { team: 'x'.repeat(257) } },
      /secretTags\.team: use a tag value of up to 256 characters, e\.g\. "integrations"/,
    ],
    [
      'a runbook that is not an address',
      { runbookUrl: 'wiki/servicenow-token-runbook' },
      /runbookUrl: use an http\(s\) address, e\.g\. "https:\/\/wiki\.example\.com\/servicenow-token-runbook"/,
    ],
    [
      'a runbook on ftp',
      { runbookUrl: 'ftp://wiki.example.com/runbook' },
      /runbookUrl: use an http\(s\) address, e\.g\./,
    ],
  ])('%s', (_kind, props, message) => {
    expect(() => refresher(props)).toThrow(message);
    expect(() => refresher(props)).toThrow(/^ServiceNowTokenRefresher Tokens\/Refresher: invalid props/);
  });

  it('lists every problem at once, one line each', () => {
    expect(() =>
      refresher({ secretNamePrefix: 'x', refreshInterval: Duration.hours(1), alertEmails: ['nobody'] }),
    ).toThrow(
      /invalid props, so nothing was synthesized:\n {2}- secretNamePrefix: .*\n {2}- alertEmails\[0\]: .*\n {2}- refreshInterval: /,
    );
  });
});

describe('valid props', () => {
  it('accept every grant by its ServiceNowGrant member, and record it on the credentials secret', () => {
    const stack = new Stack(testApp(), 'Grants');
    const tokens = refresher(
      {
        instances: [
          { name: 'acme', url: 'https://acme.service-now.com', grant: ServiceNowGrant.JWT_BEARER },
          {
            name: 'globex',
            url: 'https://globex.service-now.com',
            grant: ServiceNowGrant.CLIENT_CREDENTIALS,
          },
          {
            name: 'initech',
            url: 'https://initech.service-now.com',
            refreshTokenLifespan: Duration.days(30),
          },
        ],
      },
      stack,
    );
    const tags = (name: string) =>
      [...tokens.instanceGroups.values()]
        .flatMap((group) =>
          Object.values(Template.fromStack(group).findResources('AWS::SecretsManager::Secret')),
        )
        .find((s) => s.Properties.Name === `servicenow-token/${name}/credentials`)?.Properties.Tags;

    expect(tags('acme')).toContainEqual({ Key: 'servicenow-token:grant', Value: 'jwt_bearer' });
    expect(tags('acme')).not.toContainEqual(
      expect.objectContaining({ Key: 'servicenow-token:refresh-token-lifespan-days' }),
    );
    expect(tags('globex')).toContainEqual({ Key: 'servicenow-token:grant', Value: 'client_credentials' });
    expect(tags('initech')).toEqual(
      expect.arrayContaining([
        { Key: 'servicenow-token:grant', Value: 'password' },
        { Key: 'servicenow-token:refresh-token-lifespan-days', Value: '30' },
      ]),
    );
  });

  it('accept http on loopback, for rehearsals against the ServiceNow simulator', () => {
    expect(() => refresher(instance({ url: 'http://127.0.0.1:8080' }))).not.toThrow();
  });

  it('accept a nested secret prefix', () => {
    expect(refresher({ secretNamePrefix: 'team-a/servicenow-token/' }).accessTokenSecretName('acme')).toBe(
      'team-a/servicenow-token/acme/access-token',
    );
  });

  it('leave values known only at deploy time to CloudFormation', () => {
    const stack = new Stack(testApp(), 'Tokens');
    const runbook = new CfnParameter(stack, 'Runbook').valueAsString;
    const operator = new CfnParameter(stack, 'Operator').valueAsString;

    expect(() =>
      refresher({ runbookUrl: runbook, operatorPrincipalArns: [operator], alertEmails: [runbook] }, stack),
    ).not.toThrow();
  });
});

describe('a topic of the caller', () => {
  function ownTopic(props: Partial<ServiceNowTokenRefresherProps> = {}): Template {
    const stack = new Stack(testApp(), 'OwnTopic');
    const topic = new sns.Topic(stack, 'Topic');
    refresher({ alertTopic: topic, ...props }, stack);
    return Template.fromStack(stack);
  }

  it('is the only topic, and no key is created for it', () => {
    const template = ownTopic();

    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('with createAlertTopicKey, gets the failed-invocations queue a key of its own, and no second topic', () => {
    const template = ownTopic({ createAlertTopicKey: true });

    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('QueueKey'), 'Arn'] },
    });
  });

  it('with an encryption key of the caller, creates no key either', () => {
    const stack = new Stack(testApp(), 'OwnKey');
    const key = new kms.Key(stack, 'Key');
    refresher(
      {
        alertTopic: new sns.Topic(stack, 'Topic', { masterKey: key }),
        encryptionKey: key,
        createAlertTopicKey: true,
      },
      stack,
    );
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
    });
  });
});

describe('removalPolicy', () => {
  it('DESTROY lets the state table go, without deletion protection', () => {
    const stack = new Stack(testApp(), 'Destroy');
    refresher({ removalPolicy: RemovalPolicy.DESTROY }, stack);

    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });
});

describe('the instance list the functions bundle', () => {
  it("carries an instance's access-token lifespan as the cap on expires_in, and no cap where none is set", () => {
    const settings = parseRefresherProps(
      {
        instances: [
          { ...ACME, accessTokenLifespan: Duration.hours(2) },
          { name: 'globex', url: 'https://globex.service-now.com' },
        ],
      },
      'Test',
    );

    const [acme, globex] = instanceConfigs(settings);

    expect(acme?.accessTokenLifespanSeconds).toBe(7200);
    expect(globex).not.toHaveProperty('accessTokenLifespanSeconds');
    expect(maxAccessTokenLifespanSeconds(acme as InstanceConfig)).toBe(7200);
    expect(maxAccessTokenLifespanSeconds(globex as InstanceConfig)).toBe(86_400);
  });
});
