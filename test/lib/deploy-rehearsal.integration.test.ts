import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RehearsalInstance, runBundle } from '../../harness/cdk/bundle-cycle';
import {
  type DeployedStack,
  deployToEmulator,
  downloadObject,
  unzipToDirectory,
} from '../../harness/cdk/local-deploy';
import { stackFromConfig, testApp, testConfig } from '../../harness/cdk/synth';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import { accessTokenSecretSchema } from '../../lambda/shared/secrets/access-token-secret';
import { SecretsManagerSecretStore } from '../../lambda/shared/secrets/secret-store';
import { fingerprint } from '../../lambda/shared/state/instance-state';

/**
 * What the emulator's CloudFormation cannot model: it skips these types. Secrets are then created
 * through the Secrets Manager API from the template's properties (the refresh cycle needs them);
 * the rest are left out of the rehearsal. docs/testing.md lists the same types.
 */
const NOT_MODELED_BY_THE_EMULATOR = [
  'AWS::CloudWatch::Alarm',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SecretsManager::ResourcePolicy',
  'AWS::SecretsManager::Secret',
];

/**
 * A region of its own: the emulator sends every PutEvents event on a bus to each rule there,
 * schedule-only rules included, and fails on their Lambda targets (NotImplementedError). Real
 * EventBridge never matches events to a schedule rule. Other tests put events in us-east-1.
 */
const REGION = 'eu-central-1';
const id = randomUUID().slice(0, 8);
const stackName = `Rehearsal${id}`;
const prefix = `rehearsal-${id}/`;
let outdir: string;
let instance: RehearsalInstance;
let deployed: DeployedStack;
let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

beforeAll(async () => {
  instance = await RehearsalInstance.start('acme');
  outdir = mkdtempSync(join(tmpdir(), 'rehearsal-'));
  const app = testApp({ bundling: true, outdir });
  // Every paid option on, so that the rehearsal deploys every resource type the construct can make.
  const base = testConfig({
    stackName,
    secretNamePrefix: prefix,
    alerts: { emails: ['ops@example.com'], createTopicKey: true },
    monitoring: { dashboard: true },
  });
  // The construct accepts the simulator's loopback http address (the config file would not).
  const [acme] = base.instances;
  stackFromConfig(app, {
    ...base,
    instances: [{ ...(acme as (typeof base.instances)[0]), url: instance.url }],
  });
  const assembly = app.synth();
  template = assembly.getStackByName(stackName).template;

  deployed = await deployToEmulator(assembly.directory, stackName, REGION);
}, 120_000);

afterAll(async () => {
  await instance?.close();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** The emulator workaround described at REGION: the functions' own PutEvents calls would fail. */
async function detachScheduleTargets(aws: ReturnType<typeof localAwsConfig>): Promise<void> {
  const events = new EventBridgeClient(aws);
  for (const rule of (await events.send(new ListRulesCommand({}))).Rules ?? []) {
    const targets = (await events.send(new ListTargetsByRuleCommand({ Rule: rule.Name }))).Targets ?? [];
    if (targets.length > 0) {
      await events.send(
        new RemoveTargetsCommand({ Rule: rule.Name, Ids: targets.map((t) => t.Id as string) }),
      );
    }
  }
}

describe('a deploy rehearsal on the local AWS emulator', () => {
  it('creates the stack and its nested stacks from the uploaded assets', () => {
    expect(deployed.status).toBe('CREATE_COMPLETE');
    const types = new Set(deployed.resources.map((r) => r.ResourceType));
    for (const type of [
      'AWS::CloudFormation::Stack',
      'AWS::Lambda::Function',
      'AWS::IAM::Role',
      'AWS::Events::Rule',
      'AWS::DynamoDB::Table',
      'AWS::SNS::Topic',
      'AWS::KMS::Key',
      'AWS::SQS::Queue',
      'AWS::Logs::LogGroup',
      'AWS::CloudWatch::Dashboard',
    ]) {
      expect(types, type).toContain(type);
    }
  });

  it('leaves out exactly the resource types the emulator cannot model, and stands in for the secrets', () => {
    const skippedTypes = [...new Set(deployed.notModeled.map((r) => r.split(' ')[0]))].sort();

    expect(skippedTypes).toEqual(NOT_MODELED_BY_THE_EMULATOR);
    expect(deployed.stoodIn.map((r) => r.split(' ')[0])).toEqual([
      'AWS::SecretsManager::Secret',
      'AWS::SecretsManager::Secret',
    ]);
  });

  it('schedules each function with its rule', async () => {
    const events = new EventBridgeClient({ ...localAwsConfig(), region: REGION });
    const rules = (await events.send(new ListRulesCommand({}))).Rules ?? [];
    const scheduled = await Promise.all(
      rules
        .filter((r) => r.Name?.startsWith(stackName))
        .map(async (r) => ({
          schedule: r.ScheduleExpression,
          targets: ((await events.send(new ListTargetsByRuleCommand({ Rule: r.Name }))).Targets ?? []).map(
            (t) => t.Arn?.split(':').pop(),
          ),
        })),
    );

    expect(scheduled.sort((a, b) => String(a.schedule).localeCompare(String(b.schedule)))).toEqual([
      { schedule: 'cron(0 8 * * ? *)', targets: [deployed.outputs.ExpiryWatchFunctionName] },
      { schedule: 'rate(1 minute)', targets: [deployed.outputs.RefresherFunctionName] },
      { schedule: 'rate(5 minutes)', targets: [deployed.outputs.ProbeFunctionName] },
    ]);
  });

  it('publishes the outputs docs/infrastructure.md promises', () => {
    expect(Object.keys(deployed.outputs).sort()).toEqual([
      'AccessTokenSecretNamePattern',
      'AlertTopicArn',
      'CredentialsSecretNamePattern',
      'DashboardName',
      'ExpiryWatchFunctionName',
      'ProbeFunctionName',
      'RefresherFunctionName',
      'StateTableName',
    ]);
    expect(deployed.outputs.AccessTokenSecretNamePattern).toBe(`${prefix}<instance>/access-token`);
  });

  it('runs one refresh cycle with the environment and the code the deployed stack produced', async () => {
    const aws = { ...localAwsConfig(), region: REGION };
    const functionName = deployed.outputs.RefresherFunctionName as string;
    const configuration = await new LambdaClient(aws).send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName }),
    );
    const environment = configuration.Environment?.Variables ?? {};
    // The code the stack points the function at, fetched back from the asset bucket.
    const fn = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Keeps each'),
    );
    const code = fn?.Properties.Code as { S3Bucket: { 'Fn::Sub': string }; S3Key: string };
    const bundleDir = unzipToDirectory(await downloadObject(code.S3Bucket['Fn::Sub'], code.S3Key, REGION));
    const secrets = new SecretsManagerSecretStore(new SecretsManagerClient(aws));
    const config = {
      name: 'acme',
      url: instance.url,
      credentialsSecretId: `${prefix}acme/credentials`,
      accessTokenSecretId: `${prefix}acme/access-token`,
    };
    await instance.bootstrap(config, environment.STATE_TABLE_NAME as string, REGION);
    await detachScheduleTargets(aws);
    const before = await secrets.read(config.accessTokenSecretId);

    // What a sync job sends when ServiceNow refuses the token it holds.
    const seen =
      before.kind === 'value' ? accessTokenSecretSchema.parse(JSON.parse(before.text)).accessToken : '';
    const run = await runBundle(
      bundleDir,
      { action: 'refresh', instance: 'acme', fingerprint: fingerprint(seen) },
      environment,
      REGION,
    );

    expect(environment).toMatchObject({
      STATE_TABLE_NAME: deployed.outputs.StateTableName,
      ALERT_TOPIC_ARN: deployed.outputs.AlertTopicArn,
      INSTANCES_FILE: 'instances.json',
    });
    expect(run.result).toEqual({
      results: [expect.objectContaining({ instance: 'acme', outcome: 'refreshed' })],
    });
    const after = await secrets.read(config.accessTokenSecretId);
    expect(after.kind).toBe('value');
    const token = (read: typeof after) =>
      read.kind === 'value' ? accessTokenSecretSchema.parse(JSON.parse(read.text)).accessToken : undefined;
    expect(token(after)).not.toBe(token(before));
    expect(instance.instance.issuedTokens()).toContain(token(after));
  });
});
