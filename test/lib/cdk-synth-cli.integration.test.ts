import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RehearsalInstance, runBundle } from '../../harness/cdk/bundle-cycle';
import { createLocalAws, type LocalAws } from '../../harness/local-aws/aws-env';
import { instanceListSchema } from '../../lambda/shared/instance-config';
import { accessTokenSecretSchema } from '../../lambda/shared/secrets/access-token-secret';
import { SecretsManagerSecretStore } from '../../lambda/shared/secrets/secret-store';
import { fingerprint } from '../../lambda/shared/state/instance-state';

const ROOT = join(import.meta.dirname, '..', '..');
const execFileAsync = promisify(execFile);

interface FunctionResource {
  Properties: { Description: string; Environment: { Variables: Record<string, unknown> } };
  Metadata: { 'aws:asset:path': string };
}

let outdir: string;
let functions: Record<'refresher' | 'probe' | 'expiry-watch', { dir: string; env: Record<string, unknown> }>;
let synthOutput: string;

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'cdk-synth-cli-'));
  // The CLI as a fresh clone runs it: cdk.json's app and config, no AWS credentials, and a Docker
  // that fails if anything tries to use it.
  const { stdout, stderr } = await execFileAsync(
    join(ROOT, 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--no-notices', '--no-version-reporting', '-o', outdir],
    {
      cwd: ROOT,
      timeout: 150_000,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CDK_DOCKER: '/bin/false',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    },
  );
  synthOutput = stdout + stderr;
  const template = JSON.parse(
    readFileSync(join(outdir, 'ServiceNowTokenRefresher.template.json'), 'utf8'),
  ) as {
    Resources: Record<string, { Type: string } & FunctionResource>;
  };
  const byDescription = (prefix: string) => {
    const fn = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description.startsWith(prefix),
    );
    if (!fn) throw new Error(`no function described "${prefix}..."`);
    return { dir: join(outdir, fn.Metadata['aws:asset:path']), env: fn.Properties.Environment.Variables };
  };
  functions = {
    refresher: byDescription('Keeps each'),
    probe: byDescription('Checks that'),
    'expiry-watch': byDescription('Warns before'),
  };
}, 180_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('npx cdk synth on a fresh clone', () => {
  it('synthesizes offline from the example config, with cdk-nag clean', () => {
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
    expect(synthOutput).not.toMatch(/\b(ERROR|Acknowledge with)\b/);
  });

  it.each(['refresher', 'probe', 'expiry-watch'] as const)(
    'bundles the %s function without Docker, with its instance list',
    (name) => {
      const { dir } = functions[name];

      expect(existsSync(join(dir, 'index.mjs'))).toBe(true);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
      const instances = instanceListSchema.parse(
        JSON.parse(readFileSync(join(dir, 'instances.json'), 'utf8')),
      );
      expect(instances.map((i) => [i.name, i.accessTokenSecretId])).toEqual([
        ['acme-prod', 'servicenow-token/acme-prod/access-token'],
        ['acme-dev', 'servicenow-token/acme-dev/access-token'],
      ]);
    },
  );
});

describe('each built bundle under Node.js 24 (the Lambda runtime major)', () => {
  let instance: RehearsalInstance;
  let aws: LocalAws;
  let environment: (name: keyof typeof functions) => Record<string, string>;
  let accessTokenSecretId: string;

  beforeAll(async () => {
    instance = await RehearsalInstance.start('acme');
    aws = await createLocalAws();
    const config = {
      name: 'acme',
      url: instance.url,
      credentialsSecretId: await aws.createSecret('acme/credentials'),
      accessTokenSecretId: await aws.createSecret('acme/access-token'),
    };
    accessTokenSecretId = config.accessTokenSecretId;
    const topic = await aws.sns.send(new CreateTopicCommand({ Name: `${aws.prefix}-alerts` }));
    // The bundled list names example hosts; this run points the same variable at the simulator.
    const instancesFile = join(mkdtempSync(join(tmpdir(), 'bundle-instances-')), 'instances.json');
    writeFileSync(instancesFile, JSON.stringify([config]));
    await instance.bootstrap(config, aws.tableName);
    // The template's own environment, with its references resolved to the local resources.
    const references: Record<string, string> = {
      STATE_TABLE_NAME: aws.tableName,
      ALERT_TOPIC_ARN: topic.TopicArn ?? '',
      REFRESHER_FUNCTION_NAME: 'refresher',
    };
    environment = (name) =>
      Object.fromEntries(
        Object.entries(functions[name].env).map(([key, value]) => [
          key,
          key === 'INSTANCES_FILE'
            ? instancesFile
            : typeof value === 'string'
              ? value
              : (references[key] ?? ''),
        ]),
      );
  });

  afterAll(async () => {
    await instance?.close();
  });

  it('the refresher refreshes the access token', async () => {
    const before = await new SecretsManagerSecretStore(aws.secrets).read(accessTokenSecretId);
    // What a sync job sends when ServiceNow refuses the token it holds.
    const seen =
      before.kind === 'value' ? accessTokenSecretSchema.parse(JSON.parse(before.text)).accessToken : '';

    const run = await runBundle(
      functions.refresher.dir,
      { action: 'refresh', instance: 'acme', fingerprint: fingerprint(seen) },
      environment('refresher'),
    );

    expect(run.node).toMatch(/^v24\./);
    expect(run.result).toEqual({
      results: [expect.objectContaining({ instance: 'acme', outcome: 'refreshed' })],
    });
    const after = await new SecretsManagerSecretStore(aws.secrets).read(accessTokenSecretId);
    expect(
      after.kind === 'value' && accessTokenSecretSchema.parse(JSON.parse(after.text)).accessToken,
    ).not.toBe(before.kind === 'value' && accessTokenSecretSchema.parse(JSON.parse(before.text)).accessToken);
  });

  it('the probe finds the stored token working', async () => {
    const run = await runBundle(functions.probe.dir, { source: 'aws.events' }, environment('probe'));

    expect(run.node).toMatch(/^v24\./);
    expect(run.result).toEqual({ reports: [expect.objectContaining({ instance: 'acme', verdict: 'ok' })] });
    // The dead-man's reading, which the construct's alarms read (the detail metrics are opt-in).
    expect(run.stdout).toContain('"SilentInstances"');
  });

  it('the expiry watch reports the refresh token days left', async () => {
    const run = await runBundle(
      functions['expiry-watch'].dir,
      { source: 'aws.events' },
      environment('expiry-watch'),
    );

    expect(run.node).toMatch(/^v24\./);
    expect(run.result).toEqual({
      reports: [expect.objectContaining({ instance: 'acme', daysLeft: 99, notices: [] })],
      // The topic this test creates has no subscription: the bundle's daily check says so.
      subscriptions: { status: 'none-confirmed', pending: 0 },
    });
  });
});
