import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryAlerting } from '../../../harness/alerting-harness';
import { InMemoryRefresherFixture } from '../../../harness/refresher-fixture';

/**
 * The probe's core on the in-memory stores, against the ServiceNow simulator on loopback: the
 * verdicts, the refresh it asks for, and the incidents it opens and closes. No emulator.
 */
const MINUTE = 60_000;

let fixture: InMemoryRefresherFixture;
afterEach(async () => {
  // Whatever a test did, no secret value may appear in what the system logged.
  const leaked = fixture.leakedSecrets();
  await fixture.close();
  expect(leaked).toEqual([]);
});

async function setUp() {
  fixture = await InMemoryRefresherFixture.create();
  const alerting = new InMemoryAlerting(fixture);
  await alerting.renew();
  await alerting.emails();
  return { alerting, prober: alerting.prober(alerting.refreshHandler()) };
}

describe('the probe', () => {
  it('proves the stored token with one call to the instance and records the verdict for status', async () => {
    const { alerting, prober } = await setUp();
    const calls = fixture.sim.log.length;

    const [report] = await prober();

    expect(report).toMatchObject({ instance: 'acme', verdict: 'ok', latencyMs: expect.any(Number) });
    expect(fixture.sim.log.slice(calls).map((e) => e.path)).toEqual([expect.stringMatching(/^\/api\//)]);
    expect(await fixture.instanceState()).toMatchObject({ lastProbeVerdict: 'ok' });
    expect(await alerting.emails()).toEqual([]);
  });

  it('reads the stored token once per environment while it is valid', async () => {
    const { prober } = await setUp();
    let reads = 0;
    const read = fixture.secrets.read.bind(fixture.secrets);
    fixture.secrets.read = async (id) => {
      reads++;
      return read(id);
    };

    await prober();
    fixture.clock.advance(5 * MINUTE);
    await prober();

    expect(reads).toBe(1);
  });

  it('says "no-token" for an instance that was never bootstrapped, without calling it', async () => {
    fixture = await InMemoryRefresherFixture.create();
    const alerting = new InMemoryAlerting(fixture);

    const [report] = await alerting.prober(alerting.refreshHandler())();

    expect(report).toEqual({ instance: 'acme', verdict: 'no-token' });
    expect(fixture.sim.log).toHaveLength(0);
  });

  it('asks the refresher for a new token when a valid one is refused, and says nothing when the new one works', async () => {
    const { alerting, prober } = await setUp();
    const before = await fixture.accessToken();
    fixture.instance().sim.revoke(before?.accessToken ?? '');

    const [report] = await prober();

    expect(report?.verdict).toBe('ok-after-refresh');
    expect((await fixture.accessToken())?.accessToken).not.toBe(before?.accessToken);
    expect(await alerting.emails()).toEqual([]);
    expect((await alerting.events()).map((e) => e.detailType)).toContain('Token Refreshed');
  });

  it('opens an access-denied incident with one email on a 403, reminds nobody within a day, and resolves it when access returns', async () => {
    const { alerting, prober } = await setUp();
    const user = fixture.instance().sim.user('svc.token');
    user.roles = [];

    const [denied] = await prober();
    fixture.clock.advance(5 * MINUTE);
    await prober();
    const opened = await alerting.emails();
    user.roles = ['itil'];
    fixture.clock.advance(5 * MINUTE);
    const [restored] = await prober();
    const resolved = await alerting.emails();

    expect(denied?.verdict).toBe('forbidden');
    expect(opened.map((e) => e.attributes)).toEqual([
      expect.objectContaining({ instance: 'acme', kind: 'access-denied', notice: 'opened' }),
    ]);
    expect(restored?.verdict).toBe('ok');
    expect(resolved.map((e) => e.subject)).toEqual([opened[0]?.subject]);
    expect((await alerting.incidents.get('acme', 'access-denied'))?.status).toBe('closed');
  });

  it('fails the run when the email cannot be sent, and the next environment sends the parked email', async () => {
    const { alerting, prober } = await setUp();
    fixture.instance().sim.user('svc.token').roles = [];
    alerting.notifier.failEmails = 1;

    await expect(prober()).rejects.toThrow(/SNS is unavailable/);
    const whileFailing = await alerting.emails();
    fixture.clock.advance(5 * MINUTE);
    await alerting.prober(alerting.refreshHandler())();

    expect(whileFailing).toEqual([]);
    expect((await alerting.emails()).map((e) => e.attributes.notice)).toEqual(['opened']);
  });
});
