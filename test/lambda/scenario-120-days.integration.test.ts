import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AlertingHarness, type ReceivedEmail } from '../../harness/alerting-harness';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { TimeWarp } from '../../harness/time-warp';
import { VirtualClock } from '../../harness/virtual-clock';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const GOLDEN = join(import.meta.dirname, 'golden', 'scenario-120-days.txt');

let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

/**
 * 120 days of one instance: normal days, a 2-hour outage, a hibernation, a revoked refresh token and
 * its renewal, the countdown to the refresh token's end, its expiry and a renewal. The emails ops
 * would receive (read from an SQS queue subscribed to the topic) must match the reviewed golden file
 * exactly. Set UPDATE_GOLDEN=1 to rewrite it after a deliberate change, then review the diff.
 */
it('sends exactly the expected emails over a scripted 120-day scenario', async () => {
  // Exalate's recommended 2-hour access tokens; a probe every 15 minutes.
  // A frozen clock: with real time flowing under it, a loaded machine shifted refreshes and
  // reminders by minutes, and the golden file compares to the minute.
  fixture = await RefresherFixture.create({
    registry: { accessTokenLifespanSeconds: 7200 },
    clock: new VirtualClock(undefined, { flow: false }),
  });
  const alerting = await AlertingHarness.create(fixture);
  const sim = fixture.instance().sim;
  const start = fixture.clock.now();
  const refresher = alerting.refreshHandler();
  const prober = alerting.prober(alerting.refreshHandler());
  const watch = alerting.watch();
  const warp = new TimeWarp(fixture.clock)
    .every('refresher', MINUTE, () => refresher({ source: 'aws.events' }))
    .every('probe', 15 * MINUTE, () => prober())
    .every('expiry-watch', DAY, watch);
  const errors: unknown[] = [];
  const onTick = (tick: { error?: unknown }) => {
    if (tick.error) errors.push(tick.error);
  };
  const log: string[] = [];
  const checkpoint = async (title: string) => {
    const emails: ReceivedEmail[] = await alerting.emails();
    log.push(
      `=== day ${((fixture.clock.now() - start) / DAY).toFixed(1)}: ${title} (${emails.length} emails)`,
    );
    for (const email of emails) {
      log.push(`--- ${email.subject}`, `attributes: ${JSON.stringify(email.attributes)}`, email.body, '');
    }
  };
  const until = async (day: number) => warp.runFor(start + day * DAY - fixture.clock.now(), onTick);

  await alerting.renew();
  await until(2);
  await checkpoint('bootstrap and normal days');

  await until(5);
  const revoked = await fixture.credentials();
  sim.revoke(revoked?.refreshToken ?? '');
  await until(5.25);
  await checkpoint('refresh token revoked');
  await alerting.renew();
  await until(6);
  await checkpoint('renewed after the revocation');

  await until(10 + 10 / 24);
  sim.addFault({ fault: { kind: 'status', status: 503 }, times: Number.POSITIVE_INFINITY });
  await until(10 + 12 / 24);
  sim.clearFaults();
  await until(11);
  await checkpoint('2-hour outage');

  await until(20 + 8 / 24);
  sim.settings.hibernation = 'html-200';
  await until(20 + 14 / 24);
  sim.settings.hibernation = null;
  await until(21);
  await checkpoint('6-hour hibernation');

  await until(106.5);
  await checkpoint('countdown to the refresh token end, expiry and a reminder');
  await alerting.renew();
  await until(120);
  await checkpoint('renewed; to day 120');

  await fixture.close();
  // The simulator listens on a free port: name the instance as a real one would be named.
  const text = `${log.join('\n')}\n`.replaceAll(sim.url, 'https://acme.service-now.com');
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
  expect(errors).toEqual([]);
  expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  for (const secret of fixture.secretValues()) expect(text).not.toContain(secret);
}, 600_000);
