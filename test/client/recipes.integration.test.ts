import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import { RefresherFixture } from '../../harness/refresher-fixture';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
// The venv that runs moto has boto3: the Python recipe's only dependency.
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

/** The recipes run on the real clock: line the simulator's clock up with it, then bootstrap. */
async function bootstrappedNow() {
  fixture = await RefresherFixture.create();
  fixture.clock.advanceTo(Date.now());
  await fixture.bootstrap();
  const aws = localAwsConfig();
  return {
    ...process.env,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_DEFAULT_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    SNOW_INSTANCE: 'acme',
    SNOW_INSTANCE_URL: fixture.instance().config.url,
    ACCESS_TOKEN_SECRET_ID: fixture.instance().config.accessTokenSecretId,
    REFRESHER_FUNCTION_NAME: 'servicenow-token-refresher',
  };
}

async function outcome(command: string, args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await run(command, args, { env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the documented recipes for jobs not written in TypeScript', () => {
  it('Python (boto3): reads the stored token and calls the Table API with it', async () => {
    const env = await bootstrappedNow();

    const result = await outcome(PYTHON, [join(ROOT, 'examples', 'token_reader.py')], env);

    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ status: 200, rows: 3 });
    expect(fixture.sim.count({ path: '/api/now/table/sys_user', result: 'table-ok' })).toBe(1);
  });

  it('shell (aws cli): reads the stored token and calls the Table API with it', async () => {
    const env = await bootstrappedNow();

    const result = await outcome('bash', [join(ROOT, 'examples', 'sync-job.sh')], env);

    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ rows: 1 });
    expect(fixture.sim.count({ path: '/api/now/table/sys_user', result: 'table-ok' })).toBe(1);
  });

  it.each([
    ['Python (boto3)', PYTHON, 'token_reader.py'],
    ['shell (aws cli)', 'bash', 'sync-job.sh'],
  ])(
    '%s: sends the token to the instance it was given only, never to the host a secret names',
    async (_name, command, file) => {
      const env = await bootstrappedNow();
      const good = await fixture.accessToken();
      const elsewhere = await fixture.sim.addInstance('elsewhere');
      await fixture.secrets.write(env.ACCESS_TOKEN_SECRET_ID, { ...good, instanceUrl: elsewhere.url });

      const result = await outcome(command, [join(ROOT, 'examples', file)], env);

      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/names another instance than/);
      expect(result.stderr).not.toContain(good?.accessToken);
      expect(fixture.sim.count({ instance: 'elsewhere' })).toBe(0);
      expect(fixture.sim.count({ path: '/api/now/table/sys_user' })).toBe(0);
    },
  );

  it.each([
    ['Python (boto3)', PYTHON, 'token_reader.py'],
    ['shell (aws cli)', 'bash', 'sync-job.sh'],
  ])('%s: refuses an instance address without https', async (_name, command, file) => {
    const env = await bootstrappedNow();

    const result = await outcome(command, [join(ROOT, 'examples', file)], {
      ...env,
      SNOW_INSTANCE_URL: 'http://acme.service-now.com',
    });

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/https/);
    expect(fixture.sim.count({ path: '/api/now/table/sys_user' })).toBe(0);
  });

  it('Python (boto3): names the wrong fields of a secret that does not parse, never the values', async () => {
    const env = await bootstrappedNow();
    const good = await fixture.accessToken();
    await fixture.secrets.write(env.ACCESS_TOKEN_SECRET_ID, { ...good, tokenType: 'bearer-ish' });

    const result = await outcome(PYTHON, [join(ROOT, 'examples', 'token_reader.py')], env);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/not a valid token record \(wrong: tokenType\)/);
    expect(result.stderr).not.toContain(good?.accessToken);
  });

  it('shell (aws cli): says what to check when the refresher cannot be invoked', async () => {
    const env = await bootstrappedNow();
    const good = await fixture.accessToken();
    await fixture.secrets.write(env.ACCESS_TOKEN_SECRET_ID, { ...good, expiresAt: new Date().toISOString() });

    const result = await outcome('bash', [join(ROOT, 'examples', 'sync-job.sh')], env);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /cannot invoke servicenow-token-refresher .*REFRESHER_FUNCTION_NAME.*lambda:InvokeFunction/,
    );
    expect(`${result.stdout}${result.stderr}`).not.toContain(good?.accessToken);
  });
});
