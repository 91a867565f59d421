import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertingHarness } from '../../harness/alerting-harness';
import { runCli, writeDeploymentFile } from '../../harness/cli-process';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { VirtualClock } from '../../harness/virtual-clock';

let fixture: RefresherFixture;

afterEach(async () => {
  await fixture.close();
});

/** A fresh fixture with an alert topic, and a work folder with its --deployment file. */
async function setUp() {
  fixture = await RefresherFixture.create({ clock: new VirtualClock(Date.now()) });
  const alerting = await AlertingHarness.create(fixture);
  const work = mkdtempSync(join(tmpdir(), 'snow-token-grants-'));
  return { work, deployment: writeDeploymentFile(work, fixture, { alertTopicArn: alerting.topicArn }) };
}

/**
 * `snow-token bootstrap acme --grant <grant>` with the fixture's client, its secret piped in;
 * `onOutput` may react to what it prints (as the admin registering a certificate).
 */
function bootstrap(
  grant: 'client_credentials' | 'jwt_bearer',
  { work, deployment }: { work: string; deployment: string },
  extra: readonly string[] = [],
  onOutput?: (stdout: string) => void,
) {
  const acme = fixture.instance();
  return runCli(
    [
      'bootstrap',
      'acme',
      '--deployment',
      deployment,
      '--grant',
      grant,
      '--client-id',
      acme.registry.clientId,
      '--password-stdin',
      ...extra,
    ],
    work,
    { stdin: `${acme.registry.clientSecret}\n`, onOutput },
  );
}

describe('snow-token bootstrap for the grants without a refresh token', () => {
  it('stores client credentials once ServiceNow issues a token with them', async () => {
    const setup = await setUp();
    const acme = fixture.instance();
    acme.sim.settings.clientCredentialsEnabled = true;
    acme.registry.applicationUser = acme.username;

    const run = await bootstrap('client_credentials', setup);

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
    const setup = await setUp();

    const run = await bootstrap('client_credentials', setup);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/glide\.oauth\.inbound\.client\.credential\.grant_type\.enabled/);
    expect(await fixture.anyCredentials()).toBeUndefined();
  });

  it('makes a key, prints the certificate and the ServiceNow steps, and stores it once the admin registers it', async () => {
    const setup = await setUp();
    const acme = fixture.instance();
    let registered = false;

    const run = await bootstrap(
      'jwt_bearer',
      setup,
      ['--username', acme.username, '--wait', '30', '--wait-interval', '1'],
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
    const setup = await setUp();

    const run = await bootstrap('jwt_bearer', setup, [
      '--username',
      fixture.instance().username,
      '--wait',
      '2',
      '--wait-interval',
      '1',
    ]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /bootstrap failed: ServiceNow refused the JWT bearer grant: the certificate is not .* stored credentials were left as they were/,
    );
    expect(await fixture.anyCredentials()).toBeUndefined();
  }, 30_000);
});
