import { afterEach, describe, expect, it } from 'vitest';
import { AlertingHarness } from '../../../../harness/alerting-harness';
import { closeFindingLoggedSecrets } from '../../../../harness/logged-secrets';
import { RefresherFixture } from '../../../../harness/refresher-fixture';

const MINUTE = 60_000;
const DAY = 86_400_000;

let fixture: RefresherFixture;
afterEach(async () => {
  expect(await closeFindingLoggedSecrets(fixture)).toEqual([]);
});

async function setUp(options: Parameters<typeof RefresherFixture.create>[0] = {}) {
  fixture = await RefresherFixture.create(options);
  const alerting = await AlertingHarness.create(fixture);
  await alerting.renew();
  await alerting.emails();
  return alerting;
}

/** Runs each function three times at once (three execution environments), then each again (a retry). */
async function concurrentlyAndAgain(make: () => () => Promise<unknown>) {
  const environments = [make(), make(), make()];
  await Promise.all(environments.map((run) => run()));
  await Promise.all(environments.map((run) => run()));
}

describe('alerts over the simulator and the local AWS emulator', () => {
  it('sends nothing for a single transient failure shorter than the grace period', async () => {
    const alerting = await setUp();
    const prober = alerting.prober(alerting.refreshHandler());
    fixture.instance().sim.addFault({ fault: { kind: 'status', status: 503 }, path: '/api/', times: 1 });

    const [failed] = await prober();
    fixture.clock.advance(5 * MINUTE);
    const [recovered] = await prober();

    expect([failed?.verdict, recovered?.verdict]).toEqual(['unavailable', 'ok']);
    expect(await alerting.emails()).toEqual([]);
    expect((await alerting.incidents.get('acme', 'unavailable'))?.status).toBe('closed');
  });

  it('sends one email per transition when refreshers run concurrently and are retried', async () => {
    const alerting = await setUp();
    fixture.instance().registry.clientSecret = 'rotated-by-an-admin';

    await concurrentlyAndAgain(() => {
      const handler = alerting.refreshHandler();
      return () => handler({ action: 'refresh', instances: ['acme'], force: true });
    });
    const opened = await alerting.emails();
    await alerting.renew();
    const resolved = await alerting.emails();

    expect(opened.map((e) => e.subject)).toEqual([
      expect.stringMatching(
        /^\[ServiceNow token\] acme: refresh token refused since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
      ),
    ]);
    expect(opened[0]?.attributes).toMatchObject({
      instance: 'acme',
      kind: 'refresh',
      severity: 'action-required',
    });
    // One subject for the whole incident, so mail clients thread the recovery under the alert.
    expect(resolved.map((e) => e.subject)).toEqual([opened[0]?.subject]);
    expect(resolved[0]?.body).toMatch(/^RESOLVED: token refresh working again\./);
  });

  it('sends one email per transition when probes run concurrently and are retried', async () => {
    const alerting = await setUp();
    const user = fixture.instance().sim.user(fixture.instance().username);
    user.roles = [];

    await concurrentlyAndAgain(() => {
      const prober = alerting.prober(alerting.refreshHandler());
      return () => prober();
    });
    const opened = await alerting.emails();
    user.roles = ['itil'];
    await concurrentlyAndAgain(() => {
      const prober = alerting.prober(alerting.refreshHandler());
      return () => prober();
    });
    const resolved = await alerting.emails();

    expect(opened).toHaveLength(1);
    expect(opened[0]?.subject).toMatch(
      /^\[ServiceNow token\] acme: ServiceNow denies the integration user \(403\) since /,
    );
    expect(opened[0]?.body).toMatch(/snc_platform_rest_api_access/);
    expect(resolved.map((e) => e.subject)).toEqual([opened[0]?.subject]);
    expect(resolved[0]?.body).toMatch(/^RESOLVED: access to ServiceNow restored\./);
  });

  it('announces each countdown threshold once when expiry watches run concurrently and are retried', async () => {
    const alerting = await setUp();
    fixture.clock.advance(93 * DAY);

    await concurrentlyAndAgain(() => alerting.watch());
    const emails = await alerting.emails();

    expect(emails.map((e) => e.subject)).toEqual([
      expect.stringMatching(
        /^\[ServiceNow token\] acme: refresh token expires \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
      ),
    ]);
    expect(emails[0]?.body).toMatch(/^ACTION REQUIRED: refresh token expires in 6 days\./);
    expect(emails[0]?.body).toMatch(/npx snow-token renew acme --stack \S+ --region \S+/);
    const events = await alerting.events();
    expect(events.map((e) => e.detailType)).toEqual(
      expect.arrayContaining(['Incident Opened', 'Refresh Token Expiring']),
    );
  });

  /** The EMF lines the functions wrote: metric names, dimension sets and dimension values. */
  function emfLines() {
    return fixture.logs
      .records()
      .filter((r) => typeof r._aws === 'object')
      .map(
        (r) =>
          r as Record<string, unknown> & {
            _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
          },
      );
  }
  const metricNames = (lines: ReturnType<typeof emfLines>) =>
    new Set(lines.flatMap((m) => Object.keys(m).filter((k) => /^[A-Z]/.test(k))));

  it('publishes only the dead-man reading by default: one metric for the fleet', async () => {
    const alerting = await setUp();
    fixture.clock.advance(31 * MINUTE);

    await alerting.refreshHandler()({ source: 'aws.events' });
    await alerting.prober(alerting.refreshHandler())();
    await alerting.watch()();

    const lines = emfLines();
    expect(metricNames(lines)).toEqual(new Set(['SilentInstances']));
    expect(lines.every((m) => m.instance === undefined)).toBe(true);
  });

  it('emits per-instance metrics in the embedded metric format when asked for', async () => {
    const alerting = await setUp();
    alerting.metricScope = { fleet: false, instance: true };
    fixture.clock.advance(31 * MINUTE);

    await alerting.refreshHandler()({ source: 'aws.events' });
    await alerting.prober(alerting.refreshHandler())();

    const metrics = emfLines().filter((m) => !('SilentInstances' in m));
    expect([...metricNames(metrics)]).toEqual(
      expect.arrayContaining([
        'RefreshSuccess',
        'RefreshFailure',
        'AccessTokenSecondsRemaining',
        'RefreshTokenDaysRemaining',
        'ProbeSuccess',
        'ProbeLatency',
      ]),
    );
    expect(metrics.every((m) => m.instance === 'acme')).toBe(true);
    expect(metrics[0]?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'ServiceNowTokenRefresher' });
    expect(metrics[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'instance']]);
  });

  it('emits the fleet figures without an instance dimension for the dashboard', async () => {
    const alerting = await setUp();
    alerting.metricScope = { fleet: true, instance: false };
    fixture.clock.advance(31 * MINUTE);

    await alerting.refreshHandler()({ source: 'aws.events' });

    const metrics = emfLines().filter((m) => 'RefreshSuccess' in m);
    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics.every((m) => m.instance === undefined)).toBe(true);
    expect(metrics[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
  });
});

describe('the probe and Retry-After', () => {
  it('sends no probe before a 429 Retry-After has passed, then probes again', async () => {
    const alerting = await setUp();
    const prober = alerting.prober(alerting.refreshHandler());
    const from = fixture.clock.now();
    const until = from + 12 * MINUTE;
    fixture.instance().sim.settings.rateLimitWindow = { until };

    const verdicts: (string | undefined)[] = [];
    for (let run = 0; run < 4; run++) {
      verdicts.push((await prober())[0]?.verdict);
      fixture.clock.advance(5 * MINUTE);
    }

    const probes = fixture.sim.log.filter((e) => e.path.startsWith('/api/') && e.at >= from);
    expect(probes.filter((e) => e.at < until)).toHaveLength(1);
    expect(verdicts).toEqual(['rate-limited', 'rate-limited', 'rate-limited', 'ok']);
  });
});
