import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertingHarness } from '../../harness/alerting-harness';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { VirtualClock } from '../../harness/virtual-clock';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'snow-token.mjs');
let fixture: RefresherFixture;

afterEach(async () => {
  await fixture.close();
});

async function setUp() {
  fixture = await RefresherFixture.create({ clock: new VirtualClock(Date.now()) });
  const alerting = await AlertingHarness.create(fixture);
  const work = mkdtempSync(join(tmpdir(), 'snow-token-grants-'));
  const deployment = join(work, 'deployment.json');
  writeFileSync(
    deployment,
    JSON.stringify({
      instances: [fixture.instance().config],
      stateTableName: fixture.aws.tableName,
      alertTopicArn: alerting.topicArn,
      refresherFunctionName: 'not-invocable-here',
    }),
  );
  return { work, deployment };
}

/** Runs the CLI; `onOutput` may react to what it prints (as the admin registering a certificate). */
function cli(work: string, args: string[], stdin: string, onOutput?: (stdout: string) => void) {
  const aws = localAwsConfig();
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_REGION: aws.region,
        AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onOutput?.(stdout);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.end(stdin);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('snow-token bootstrap for the grants without a refresh token', () => {
  it('stores client credentials once ServiceNow issues a token with them', async () => {
    const { work, deployment } = await setUp();
    const acme = fixture.instance();
    acme.sim.settings.clientCredentialsEnabled = true;
    acme.registry.applicationUser = acme.username;

    const run = await cli(
      work,
      [
        'bootstrap',
        'acme',
        '--deployment',
        deployment,
        '--grant',
        'client_credentials',
        '--client-id',
        acme.registry.clientId,
        '--password-stdin',
      ],
      `${acme.registry.clientSecret}\n`,
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /Stored client_credentials credentials for acme.*\nNo refresh token, so no 100-day renewal/,
    );
    expect(await fixture.anyCredentials()).toMatchObject({
      grant: 'client_credentials',
      clientId: acme.registry.clientId,
    });
    expect(await fixture.instanceState()).toMatchObject({
      grant: 'client_credentials',
      lastOutcome: 'bootstrapped',
    });
  });

  it('refuses client credentials while the grant is switched off, storing nothing', async () => {
    const { work, deployment } = await setUp();
    const acme = fixture.instance();

    const run = await cli(
      work,
      [
        'bootstrap',
        'acme',
        '--deployment',
        deployment,
        '--grant',
        'client_credentials',
        '--client-id',
        acme.registry.clientId,
        '--password-stdin',
      ],
      `${acme.registry.clientSecret}\n`,
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/glide\.oauth\.inbound\.client\.credential\.grant_type\.enabled/);
    expect(await fixture.anyCredentials()).toBeUndefined();
  });

  it('makes a key, prints the certificate and the ServiceNow steps, and stores it once the admin registers it', async () => {
    const { work, deployment } = await setUp();
    const acme = fixture.instance();
    let registered = false;

    const run = await cli(
      work,
      [
        'bootstrap',
        'acme',
        '--deployment',
        deployment,
        '--grant',
        'jwt_bearer',
        '--client-id',
        acme.registry.clientId,
        '--username',
        acme.username,
        '--password-stdin',
        '--wait',
        '30',
        '--wait-interval',
        '1',
      ],
      `${acme.registry.clientSecret}\n`,
      (stdout) => {
        // The admin follows the printed steps: the certificate goes into the JWT verifier map.
        const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(
          stdout,
        )?.[0];
        if (certificate && !registered && /JWT Verifier Maps/.test(stdout)) {
          registered = true;
          setTimeout(() => {
            acme.registry.jwtCertificatePem = certificate;
          }, 1500);
        }
      },
    );

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/Waiting for the certificate to be registered/);
    expect(run.stdout).toMatch(/System OAuth > Application Registry/);
    expect(run.stdout).not.toMatch(/PRIVATE KEY/);
    const stored = await fixture.anyCredentials();
    expect(stored).toMatchObject({ grant: 'jwt_bearer', username: acme.username });
    expect(fixture.sim.count({ result: 'jwt-ok' })).toBe(1);
    expect(fixture.sim.count({ result: 'rejected:no-jwt-verifier' })).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('gives up after --wait without storing anything when the certificate never gets registered', async () => {
    const { work, deployment } = await setUp();
    const acme = fixture.instance();

    const run = await cli(
      work,
      [
        'bootstrap',
        'acme',
        '--deployment',
        deployment,
        '--grant',
        'jwt_bearer',
        '--client-id',
        acme.registry.clientId,
        '--username',
        acme.username,
        '--password-stdin',
        '--wait',
        '2',
        '--wait-interval',
        '1',
      ],
      `${acme.registry.clientSecret}\n`,
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /bootstrap failed: ServiceNow refused the JWT bearer grant: the certificate is not .* stored credentials were left as they were/,
    );
    expect(await fixture.anyCredentials()).toBeUndefined();
  }, 30_000);
});
