import { afterEach, expect, it } from 'vitest';
import { AlertingHarness } from '../../../harness/alerting-harness';
import { ConsumerHandoffs, dailyConsumerWatch } from '../../../harness/consumer-handoff';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import type { LoggedRequest } from '../../../harness/servicenow-simulator';
import { TimeWarp } from '../../../harness/time-warp';
import { fingerprint } from '../../../lambda/shared/state/instance-state';

const DAY = 86_400_000;

let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

/** Every token the simulator issued with this fingerprint (the deployment records no value). */
function tokenWithFingerprint(f: RefresherFixture, instance: string, print: string | undefined): string {
  const sim = f.instance(instance).sim;
  const token = sim.issuedTokens().find((t) => sim.refreshToken(t) && fingerprint(t) === print);
  if (!token) throw new Error(`no refresh token with fingerprint ${print}`);
  return token;
}

it('watches a token daily: one refresh grant a day, a revocation on day 40 reported within a day, rotating and tracked-only tokens never spent', async () => {
  fixture = await RefresherFixture.create({
    instances: [{ name: 'acme' }, { name: 'rota', settings: { rotateRefreshTokens: true } }],
  });
  const { alerting, handoffs, start, errors, until } = await dailyConsumerWatch(fixture);

  fixture.clock.advance(6.5 * 3_600_000);
  const watched = (await handoffs.handoff('exalate', { watch: true })).record;
  const rotating = await handoffs.handoff('exalate', { watch: true, name: 'rota' });
  await handoffs.store.record({
    consumer: 'other-tool',
    instance: 'acme',
    source: 'track',
    issuedAt: fixture.clock.now(),
    lifespanSeconds: 8_640_000,
    rotating: false,
    watched: false,
    recordedAt: fixture.clock.now(),
  });
  const handedOffAt = fixture.clock.now();
  const token = tokenWithFingerprint(fixture, 'acme', watched.fingerprint);
  await until(40);
  const quiet = await alerting.emails();
  fixture.instance('acme').sim.revoke(token);
  const revokedAt = fixture.clock.now();
  await until(41.5);
  const reported = await alerting.emails();
  await until(101);
  await alerting.emails();

  expect(errors).toEqual([]);
  expect(watched).toMatchObject({ watched: true, rotating: false });
  expect(rotating.record).toMatchObject({ watched: false, rotating: true });
  expect(rotating.printed).toMatch(/Not watched: a rotating token is never checked/);
  expect(quiet).toEqual([]);
  expect(reported.map((e) => e.subject)).toEqual([
    expect.stringMatching(/^\[ServiceNow token\] Exalate's refresh token for acme was refused since \d{4}-/),
  ]);
  expect(reported[0]?.body).toMatch(/^ACTION REQUIRED: /);
  expect(reported[0]?.body).toContain('snow-token handoff acme --to exalate');
  // The request log: one refresh grant a day with the watched token, from the first watch run to the
  // last before its expiry on day 100.25; none with the rotating token; nothing else after the handoffs.
  const after = (entry: LoggedRequest) => entry.at > handedOffAt;
  const spent = fixture.sim.log.filter((e) => after(e) && e.grantType === 'refresh_token');
  const days = spent.map((e) => Math.floor((e.at - start) / DAY));
  expect(spent.every((e) => e.instance === 'acme' && e.refreshTokenFingerprint === watched.fingerprint)).toBe(
    true,
  );
  expect(days).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  expect(fixture.sim.log.filter((e) => after(e) && e.instance === 'rota')).toEqual([]);
  expect(spent.filter((e) => e.at > revokedAt)[0]?.result).toMatch(/^rejected/);
  expect(spent.filter((e) => e.at < revokedAt).every((e) => e.result.startsWith('refresh'))).toBe(true);
  const stored = (await handoffs.store.list('acme')).find((t) => t.consumer === 'exalate');
  expect(stored?.lastVerdict).toBe('refused');
  // 101 simulated days of a daily watch over moto: seconds alone, longer on a busy machine.
}, 240_000);

it('verifies at most once a day, however often the watch runs', async () => {
  fixture = await RefresherFixture.create();
  const alerting = await AlertingHarness.create(fixture);
  const handoffs = new ConsumerHandoffs(alerting);
  const watch = alerting.watch({ consumerTokens: handoffs.watchDeps() });
  const { record } = await handoffs.handoff('exalate', { watch: true });
  const handedOffAt = fixture.clock.now();

  // A retried invocation, then hourly runs for two days.
  await watch();
  await watch();
  await new TimeWarp(fixture.clock).every('expiry-watch', 3_600_000, watch).runFor(2 * DAY);

  const spent = fixture.sim.log.filter((e) => e.at > handedOffAt && e.grantType === 'refresh_token');
  expect(spent.map((e) => e.refreshTokenFingerprint)).toEqual([
    record.fingerprint,
    record.fingerprint,
    record.fingerprint,
  ]);
});
