import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../cli/jwt-key';
import { AlertingHarness } from '../../../harness/alerting-harness';
import { closeFindingLoggedSecrets } from '../../../harness/logged-secrets';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import { TimeWarp } from '../../../harness/time-warp';
import { bootstrapWithCredentials } from '../../../lambda/shared/password-bootstrap';
import type { CredentialsSecret } from '../../../lambda/shared/secrets/credentials-secret';

const MINUTE = 60_000;
const DAY = 86_400_000;
let fixture: RefresherFixture;

afterEach(async () => {
  expect(await closeFindingLoggedSecrets(fixture)).toEqual([]);
});

type Keyless = Exclude<CredentialsSecret, { grant: 'password' }>;

/** An instance set up for the grant as a ServiceNow admin would, and credentials to match. */
async function setUp(
  grant: Keyless['grant'],
  options: { certificateDays?: number; accessTokenLifespanSeconds?: number } = {},
) {
  fixture = await RefresherFixture.create({
    registry: { accessTokenLifespanSeconds: options.accessTokenLifespanSeconds ?? 1800 },
  });
  const alerting = await AlertingHarness.create(fixture);
  const acme = fixture.instance();
  const client = {
    schemaVersion: 1,
    clientId: acme.registry.clientId,
    clientSecret: acme.registry.clientSecret,
  } as const;
  let credentials: Keyless;
  if (grant === 'client_credentials') {
    acme.sim.settings.clientCredentialsEnabled = true;
    acme.registry.applicationUser = acme.username;
    credentials = { ...client, grant };
  } else {
    const key = generateSigningKey({
      subject: 'snow-token acme',
      now: fixture.clock.now(),
      days: options.certificateDays ?? 730,
    });
    acme.registry.jwtCertificatePem = key.certificatePem;
    credentials = {
      ...client,
      grant,
      username: acme.username,
      privateKeyPem: key.privateKeyPem,
      certificatePem: key.certificatePem,
      certificateExpiresAt: new Date(key.expiresAt).toISOString(),
    };
  }
  const result = await bootstrapWithCredentials(
    {
      clock: fixture.clock,
      secrets: fixture.secrets,
      state: fixture.state,
      client: fixture.client(),
      owner: 'cli/test',
      alerts: alerting.alerts(),
    },
    acme.config,
    credentials,
  );
  expect(result.kind).toBe('ok');
  return { alerting, credentials };
}

describe.each(['client_credentials', 'jwt_bearer'] as const)('the %s grant', (grant) => {
  it('runs 200 days with no human action and no expiry warning', async () => {
    const { alerting } = await setUp(grant, { accessTokenLifespanSeconds: 43_200 });
    const refresher = alerting.refreshHandler();
    const prober = alerting.prober(alerting.refreshHandler());
    const watch = alerting.watch();
    const errors: unknown[] = [];
    const warp = new TimeWarp(fixture.clock)
      .every('refresher', MINUTE, () => refresher({ source: 'aws.events' }))
      .every('probe', 60 * MINUTE, () => prober())
      .every('expiry-watch', DAY, watch);

    await warp.runFor(200 * DAY, (tick) => {
      if (tick.error) errors.push(tick.error);
    });

    expect(errors).toEqual([]);
    expect(await alerting.emails()).toEqual([]);
    const grantType =
      grant === 'client_credentials' ? 'client_credentials' : 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    expect(fixture.sim.count({ grantType })).toBeGreaterThanOrEqual(399);
    expect(
      fixture.sim.count({ grantType: 'password' }) + fixture.sim.count({ grantType: 'refresh_token' }),
    ).toBe(0);
    const stored = await fixture.accessToken();
    expect(fixture.instance().sim.isAccessTokenValid(stored?.accessToken ?? '')).toBe(true);
    expect(await fixture.instanceState()).toMatchObject({
      grant,
      lastOutcome: 'refreshed',
      consecutiveFailures: 0,
    });
  }, 300_000);
});

describe('failures alert with the fix for their grant', () => {
  const force = { action: 'refresh', instances: ['acme'], force: true };

  async function refusedAlert(alerting: AlertingHarness) {
    fixture.clock.advance(31 * MINUTE);
    const response = await alerting.refreshHandler()(force);
    expect(response.results[0]?.outcome).toBe('grant-rejected');
    const emails = await alerting.emails();
    expect(emails.map((e) => e.subject)).toEqual([
      expect.stringMatching(/^\[ServiceNow token\] acme: ServiceNow refuses the grant since /),
    ]);
    return emails[0]?.body ?? '';
  }

  it('names the property and the application user when client credentials are switched off', async () => {
    const { alerting } = await setUp('client_credentials');
    fixture.instance().sim.settings.clientCredentialsEnabled = false;

    const body = await refusedAlert(alerting);

    expect(body).toMatch(/glide\.oauth\.inbound\.client\.credential\.grant_type\.enabled/);
    expect(body).toMatch(/OAuth Application User/);
    expect(fixture.sim.log.at(-1)?.result).toBe('rejected:client-credentials-disabled');
  });

  it.each([
    [
      'a key ServiceNow does not know',
      () => {
        fixture.instance().registry.jwtCertificatePem = generateSigningKey({
          subject: 'other',
          now: fixture.clock.now(),
          days: 30,
        }).certificatePem;
      },
      'rejected:bad-signature',
    ],
    [
      'an assertion the instance considers expired',
      () => {
        fixture.instance().sim.settings.clockSkewSeconds = 600;
      },
      'rejected:expired-assertion',
    ],
    [
      'a provider expecting another audience',
      () => {
        fixture.instance().registry.jwtAudience = 'another-client';
      },
      'rejected:wrong-audience',
    ],
  ])('points at the JWT verifier map, the audience and the clock for %s', async (_case, breakIt, logged) => {
    const { alerting } = await setUp('jwt_bearer');
    breakIt();

    const body = await refusedAlert(alerting);

    expect(fixture.sim.log.at(-1)?.result).toBe(logged);
    expect(body).toMatch(/JWT verifier map/);
    expect(body).toMatch(/audience/);
    expect(body).toMatch(/clock/);
    expect(body).toMatch(/snow-token bootstrap acme --new-client/);
  });

  it('counts down to the signing certificate end instead of a refresh token', async () => {
    const { alerting } = await setUp('jwt_bearer', { certificateDays: 20 });

    await alerting.watch()();

    const emails = await alerting.emails();
    expect(emails.map((e) => e.subject)).toEqual([
      expect.stringMatching(
        /^\[ServiceNow token\] acme: signing certificate expires \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
      ),
    ]);
    expect(emails[0]?.body).toMatch(/^WARNING: signing certificate expires in 19 days\./);
    expect(emails[0]?.body).toMatch(/snow-token bootstrap acme --grant jwt_bearer --new-client/);
  });
});
