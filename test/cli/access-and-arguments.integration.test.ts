import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainAwsError } from '../../cli/errors';
import { cliEnvironment, createCliWorkspace, runCli, runPipedPasswordGrant } from '../../harness/cli-process';
import type { RefresherFixture } from '../../harness/refresher-fixture';

let fixture: RefresherFixture;
let workDir: string;
let deploymentFile: string;

beforeAll(async () => {
  ({ workDir, fixture, deploymentFile } = await createCliWorkspace('access'));
});

afterAll(async () => {
  await fixture.close();
});

describe('snow-token arguments', () => {
  it('prints its version', async () => {
    const run = await runCli(['--version'], workDir);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^snow-token \d+\.\d+\.\d+\n$/);
  });

  it('never echoes an extra argument, which may be a password typed in the wrong place', async () => {
    const run = await runCli(['status', 'Hunter2-typed-here', '--deployment', deploymentFile], workDir);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Unexpected extra argument/);
    expect(run.stderr + run.stdout).not.toContain('Hunter2');
  });

  it('never echoes the value of an unknown option', async () => {
    const run = await runCli(['status', '--pasword=Hunter2-typed-here'], workDir);

    expect(run.code).toBe(2);
    expect(run.stderr + run.stdout).not.toContain('Hunter2');
  });
});

describe('AWS access problems exit 3 with what to do', () => {
  it('an unreachable AWS endpoint (a network error)', async () => {
    const run = await runCli(['status', '--deployment', deploymentFile], workDir, {
      env: { ...cliEnvironment(workDir), AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
    });

    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/AWS could not be reached \(ECONNREFUSED\)\. Check your network/);
  });

  it.each([
    [
      { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' },
      /session has expired.*aws sso login/,
    ],
    [
      { name: 'ResourceNotFoundException', message: 'Function not found: arn:...' },
      /does not exist.*--region/,
    ],
    [
      Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
      /could not be reached \(ENOTFOUND\)/,
    ],
  ])('%o', (error, says) => {
    const explained = explainAwsError(error);

    expect(explained?.exitCode).toBe(3);
    expect(explained?.message).toMatch(says);
  });
});

describe('renew', () => {
  it('repairs a credentials secret that is not valid, which the alert names it as the fix for', async () => {
    const acme = fixture.instance();
    await fixture.aws.secrets.send(
      new PutSecretValueCommand({
        SecretId: acme.config.credentialsSecretId,
        SecretString: '{"clientId": 42',
      }),
    );

    const run = await runPipedPasswordGrant('renew', deploymentFile, workDir, acme);

    expect(run.stderr).toMatch(/is not valid, so renew replaces it/);
    expect(run.code).toBe(0);
    expect((await fixture.credentials())?.clientId).toBe(acme.registry.clientId);
  }, 120_000);
});
