import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { synthFromConfigFile } from '../../harness/cdk/synth';
import { loadDeploymentConfig, refresherPropsFromConfig } from '../../lib/deployment-config';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'deployment-config-'));
let files = 0;

const valid = () => ({
  instances: [{ name: 'acme', url: 'https://acme.service-now.com' }],
  alerts: { emails: ['ops@example.com'] },
});

function configFile(content: unknown): string {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

type Config = ReturnType<typeof valid> & Record<string, unknown>;
const top = (key: string, value: unknown) => (c: Config) => {
  c[key] = value;
};
const instance = (changes: Record<string, unknown>) => (c: Config) => {
  c.instances = [{ ...c.instances[0], ...changes } as (typeof c.instances)[0]];
};

describe('a bad deployment configuration fails synth with a message naming the field and an example', () => {
  it.each<[string, (c: Config) => void, RegExp]>([
    ['no instances', top('instances', []), /instances: list at least one instance, e\.g\. \[\{"name"/],
    [
      'instances missing',
      (c) => void delete (c as Partial<Config>).instances,
      /instances: .*expected array.*see config\/example\.json/,
    ],
    [
      'an http URL',
      instance({ url: 'http://acme.service-now.com' }),
      /instances\[0\]\.url: "http:\/\/acme\.service-now\.com" must use https .*e\.g\. https:\/\/acme\.service-now\.com/,
    ],
    [
      'a host outside service-now.com',
      instance({ url: 'https://servicenow.acme.example' }),
      /instances\[0\]\.url: host "servicenow\.acme\.example" is outside \*\.service-now\.com; add it to allowedHosts .*e\.g\. "allowedHosts": \["servicenow\.acme\.example"\]/,
    ],
    [
      'a URL with a path',
      instance({ url: 'https://acme.service-now.com/now/nav' }),
      /instances\[0\]\.url: .* must be the instance's address only, without a path, e\.g\./,
    ],
    ['not a URL', instance({ url: 'acme' }), /instances\[0\]\.url: "acme" is not a URL.*e\.g\./],
    [
      'plain http on loopback, which only the construct takes (for rehearsals)',
      instance({ url: 'http://127.0.0.1:8080' }),
      /instances\[0\]\.url: must use https .*e\.g\. "https:\/\/acme\.service-now\.com"/,
    ],
    [
      'a URL with a port',
      instance({ url: 'https://acme.service-now.com:8443' }),
      /instances\[0\]\.url: must be the instance address only, without a port, e\.g\. "https:\/\/acme\.service-now\.com"/,
    ],
    [
      'a misspelt grant',
      instance({ grant: 'pasword' }),
      /instances\[0\]\.grant: use one of password, client_credentials, jwt_bearer, e\.g\. "password"/,
    ],
    [
      'a dead-man period of more than a day',
      top('alerts', { deadManHours: 25 }),
      /alerts\.deadManHours: use whole hours from 1 to 24, e\.g\. 2/,
    ],
    [
      'an instance name with capitals',
      instance({ name: 'Acme' }),
      /instances\[0\]\.name: use lower-case letters, digits and dashes, e\.g\. "acme-prod"/,
    ],
    [
      'a duplicated instance',
      (c) => void c.instances.push({ ...c.instances[0] } as (typeof c.instances)[0]),
      /instances\[1\]\.name: "acme" is listed twice.*e\.g\./,
    ],
    [
      'an unsupported grant',
      instance({ grant: 'authorization_code' }),
      /instances\[0\]\.grant: use one of password, client_credentials, jwt_bearer, e\.g\. "password"/,
    ],
    [
      'a refresh-token lifespan of 0',
      instance({ refreshTokenLifespanDays: 0 }),
      /instances\[0\]\.refreshTokenLifespanDays: use whole days from 1 to 3650, e\.g\. 100/,
    ],
    [
      'a probe path outside the REST API',
      instance({ probePath: '/login.do' }),
      /instances\[0\]\.probePath: use a REST API path on the instance, e\.g\./,
    ],
    [
      'empty alert thresholds',
      instance({ expiryWarningDays: [] }),
      /instances\[0\]\.expiryWarningDays: list at least one day, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'a malformed email',
      top('alerts', { emails: ['ops-at-example.com'] }),
      /alerts\.emails\[0\]: use an email address, e\.g\. "integrations@example\.com"/,
    ],
    [
      'a dead-man period shorter than two token lifespans',
      (c) => {
        instance({ accessTokenLifespanSeconds: 7200 })(c);
        (c.alerts as Record<string, unknown>).deadManHours = 2;
      },
      /alerts\.deadManHours: must cover at least two access-token lifespans .*e\.g\. 4/,
    ],
    [
      'an access-token lifespan under 300 seconds',
      instance({ accessTokenLifespanSeconds: 120 }),
      /instances\[0\]\.accessTokenLifespanSeconds: use whole seconds from 300 to 86400, e\.g\. 86400/,
    ],
    [
      'a refresh schedule of 0 minutes',
      top('schedules', { refreshMinutes: 0 }),
      /schedules\.refreshMinutes: use whole minutes from 1 to 15, e\.g\. 1/,
    ],
    [
      'an expiry-watch hour of 24',
      top('schedules', { expiryWatchHourUtc: 24 }),
      /schedules\.expiryWatchHourUtc: use an hour from 0 to 23, e\.g\. 8/,
    ],
    [
      'a KMS alias instead of a key ARN',
      top('kmsKeyArn', 'alias/aws/secretsmanager'),
      /kmsKeyArn: use a KMS key ARN, e\.g\. "arn:aws:kms:/,
    ],
    [
      'an operator that is not an IAM ARN',
      top('operatorPrincipalArns', ['alice']),
      /operatorPrincipalArns\[0\]: "alice" is not an IAM role or user ARN of one account; use one like "arn:aws:iam::123456789012:role\/ServiceNowTokenOperator"/,
    ],
    [
      'an operator ARN with an account wildcard',
      top('operatorPrincipalArns', ['arn:aws:iam::*:*']),
      /operatorPrincipalArns\[0\]: "arn:aws:iam::\*:\*" is not an IAM role or user ARN of one account; use one like "arn:aws:iam::123456789012:role\/ServiceNowTokenOperator"/,
    ],
    [
      'an operator ARN for every principal of an account',
      top('operatorPrincipalArns', ['arn:aws:iam::123456789012:*']),
      /operatorPrincipalArns\[0\]: .* is not an IAM role or user ARN of one account; use one like/,
    ],
    [
      'an operator ARN for every role under a path',
      top('operatorPrincipalArns', ['arn:aws:iam::123456789012:role/ops/*']),
      /operatorPrincipalArns\[0\]: .* matches every role under a path; name the operators' role, e\.g\. "arn:aws:iam::123456789012:role\/ServiceNowTokenOperator"/,
    ],
    [
      'an operator ARN in an unknown partition',
      top('operatorPrincipalArns', ['arn:aws-moon:iam::123456789012:role/Ops']),
      /operatorPrincipalArns\[0\]: .* is not an IAM role or user ARN .*e\.g\./,
    ],
    [
      'an assumed-role session ARN instead of the role ARN',
      top('operatorPrincipalArns', ['arn:aws:sts::123456789012:assumed-role/TokenOperator/alice']),
      /operatorPrincipalArns\[0\]: .* is a session \(sts assumed-role\) ARN, which never matches aws:PrincipalArn; use the role's ARN, "arn:aws:iam::123456789012:role\/TokenOperator"/,
    ],
    [
      'an IAM Identity Center session ARN',
      top('operatorPrincipalArns', [
        'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_TokenOperator_0123456789abcdef/alice@example.com',
      ]),
      /use the role's ARN, "arn:aws:iam::123456789012:role\/aws-reserved\/sso\.amazonaws\.com\/AWSReservedSSO_TokenOperator_0123456789abcdef"/,
    ],
    [
      'an operator in another account than the stack',
      (c) => {
        c.account = '123456789012';
        c.operatorPrincipalArns = ['arn:aws:iam::210987654321:role/Ops'];
      },
      /operatorPrincipalArns\[0\]: operator .* is in account 210987654321, not the stack's 123456789012; use one of 123456789012, e\.g\. "arn:aws:iam::123456789012:role\/ServiceNowTokenOperator"/,
    ],
    [
      'an operator in another partition than the stack region',
      (c) => {
        c.region = 'cn-north-1';
        c.operatorPrincipalArns = ['arn:aws:iam::123456789012:role/Ops'];
      },
      /operatorPrincipalArns\[0\]: operator .* is in partition aws, not aws-cn of the stack's region cn-north-1; e\.g\./,
    ],
    [
      'a KMS key in another account than the stack',
      (c) => {
        c.account = '123456789012';
        c.region = 'eu-west-1';
        c.kmsKeyArn = 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      },
      /kmsKeyArn: the key is in account 210987654321, not the stack's 123456789012; use one of 123456789012, e\.g\. "arn:aws:kms:eu-west-1:123456789012:key\//,
    ],
    [
      'a KMS key in another region than the stack',
      (c) => {
        c.region = 'eu-west-1';
        c.kmsKeyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      },
      /kmsKeyArn: the key is in region us-east-1, not the stack's eu-west-1 .*e\.g\. "arn:aws:kms:eu-west-1:123456789012:key\//,
    ],
    [
      'an IP address as an allowed host',
      top('allowedHosts', ['10.0.0.12']),
      /allowedHosts\[0\]: "10\.0\.0\.12" is an IP address; name the instance's DNS host, e\.g\. "servicenow\.acme\.example"/,
    ],
    [
      'a decimal IP address as an allowed host',
      top('allowedHosts', ['2130706433']),
      /allowedHosts\[0\]: "2130706433" is an IP address; .*e\.g\. "servicenow\.acme\.example"/,
    ],
    [
      'localhost as an allowed host',
      top('allowedHosts', ['localhost']),
      /allowedHosts\[0\]: "localhost" is this machine, not an instance; .*e\.g\. "servicenow\.acme\.example"/,
    ],
    [
      'a bare top-level domain as an allowed host',
      top('allowedHosts', ['com']),
      /allowedHosts\[0\]: "com" is a bare top-level domain; name one host, e\.g\. "servicenow\.acme\.example"/,
    ],
    [
      'an absurd reminder interval',
      top('alerts', { reminderHours: 1e15 }),
      /alerts\.reminderHours: use whole hours from 1 to 720, e\.g\. 24/,
    ],
    [
      'a warning 5000 days ahead',
      top('alerts', { expiryWarningDays: [5000] }),
      /alerts\.expiryWarningDays\[0\]: warn at most 365 days ahead, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'a warning day listed three times',
      top('alerts', { expiryWarningDays: [7, 7, 7] }),
      /alerts\.expiryWarningDays: list each day once, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      "an instance's warning day listed twice",
      instance({ expiryWarningDays: [3, 3] }),
      /instances\[0\]\.expiryWarningDays: list each day once, e\.g\. \[30, 14, 7, 3, 1\]/,
    ],
    [
      'an email listed twice',
      top('alerts', { emails: ['ops@example.com', 'OPS@example.com'] }),
      /alerts\.emails: list each address once, e\.g\. \["integrations@example\.com"\]/,
    ],
    [
      'a tag key reserved for AWS',
      top('tags', { 'aws:team': 'integrations' }),
      /tags\.aws:team: keys starting with "aws:" are reserved for AWS; use your own, e\.g\. "team"/,
    ],
    [
      'a secret prefix without a trailing slash',
      top('secretNamePrefix', 'servicenow-token'),
      /secretNamePrefix: .*end with "\/", e\.g\. "servicenow-token\/"/,
    ],
    [
      'a misspelt field',
      top('instance', []),
      /\(top level\): unknown field\(s\) "instance"; check the spelling against config\/example\.json/,
    ],
    [
      'a tag value over 256 characters',
      top('tags', { team: 'x'.repeat(257) }),
      /tags\.team: use a tag value of up to 256 characters, e\.g\. "integrations"/,
    ],
  ])('%s', (_kind, change, message) => {
    const config = valid() as Config;
    change(config);
    const path = configFile(config);

    expect(() => synthFromConfigFile(path)).toThrow(message);
    expect(() => synthFromConfigFile(path)).toThrow(`The deployment configuration ${path} is invalid`);
  });

  it('not JSON', () => {
    const path = configFile('{ "instances": [ ');

    expect(() => synthFromConfigFile(path)).toThrow(/is not valid JSON .*see config\/example\.json/);
  });

  it('a file that is not there', () => {
    expect(() => synthFromConfigFile(join(dir, 'missing.json'))).toThrow(
      /cannot read it \(ENOENT\); copy config\/example\.json/,
    );
  });
});

describe('a good deployment configuration', () => {
  it('accepts a host outside service-now.com that is explicitly allowed', () => {
    const config = valid() as Config;
    instance({ url: 'https://servicenow.acme.example' })(config);
    config.allowedHosts = ['servicenow.acme.example'];

    expect(() => synthFromConfigFile(configFile(config))).not.toThrow();
  });

  it("maps an instance's accessTokenLifespanSeconds onto the construct's accessTokenLifespan, and leaves it unset otherwise", () => {
    const config = valid() as Config;
    instance({ accessTokenLifespanSeconds: 3600 })(config);
    config.instances.push({ name: 'globex', url: 'https://globex.service-now.com' });

    const props = refresherPropsFromConfig(loadDeploymentConfig(configFile(config)));

    expect(props.instances[0]?.accessTokenLifespan?.toSeconds()).toBe(3600);
    expect(props.instances[1]?.accessTokenLifespan).toBeUndefined();
  });

  it('accepts the committed example', () => {
    expect(() => synthFromConfigFile(join(ROOT, 'config', 'example.json'))).not.toThrow();
  });
});

describe('bin/app.ts', () => {
  it('stops with exit code 1 and the message alone when the configuration is bad', async () => {
    const path = configFile({ instances: [{ name: 'acme', url: 'http://acme.service-now.com' }] });

    const run = promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, CDK_CONTEXT_JSON: JSON.stringify({ config: path }), CDK_OUTDIR: dir },
    });

    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^The deployment configuration .* is invalid, so nothing was synthesized:\n {2}- instances\[0\]\.url: "http:\/\/acme\.service-now\.com" must use https/,
      ),
    });
  });
});
