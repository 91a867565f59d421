import { afterEach, describe, expect, it } from 'vitest';
import { AlertingHarness } from '../../../harness/alerting-harness';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import { TimeWarp } from '../../../harness/time-warp';
import { METRICS } from '../../../lambda/shared/metrics';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DEAD_MAN_MS = 2 * HOUR;

interface EmfLine {
  readonly _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
  readonly [key: string]: unknown;
}

let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

interface Reading {
  /** Virtual time of the probe run (EMF timestamps are wall-clock). */
  readonly at: number;
  readonly silent: number;
  readonly namespace: string;
  readonly dimensions: string[][];
}

/** The dead-man's readings the probe published (EMF lines in its log), oldest first. */
function deadManLines(): Omit<Reading, 'at'>[] {
  return fixture.logs
    .records()
    .filter((r): r is EmfLine => typeof r._aws === 'object' && METRICS.deadMan.metricName in r)
    .map((r) => ({
      silent: r[METRICS.deadMan.metricName] as number,
      namespace: r._aws.CloudWatchMetrics[0]?.Namespace ?? '',
      dimensions: r._aws.CloudWatchMetrics[0]?.Dimensions ?? [],
    }));
}

/**
 * The refresher every minute and the probe every 5 minutes for `durationMs`; returns what each
 * probe run published, stamped with its virtual time (EMF timestamps are wall-clock).
 */
async function runSchedules(alerting: AlertingHarness, durationMs: number): Promise<Reading[]> {
  const refresher = alerting.refreshHandler();
  const prober = alerting.prober(alerting.refreshHandler());
  const readings: Reading[] = [];
  await new TimeWarp(fixture.clock)
    .every('refresher', MINUTE, () => refresher({ source: 'aws.events' }))
    .every('probe', 5 * MINUTE, async () => {
      const seen = deadManLines().length;
      const at = fixture.clock.now();
      await prober();
      for (const line of deadManLines().slice(seen)) readings.push({ ...line, at });
    })
    .runFor(durationMs);
  return readings;
}

describe("the dead-man's switch", () => {
  it('catches one silent instance among several within the dead-man period, with one fleet metric', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme' }, { name: 'globex' }, { name: 'initech' }, { name: 'umbrella' }],
    });
    const alerting = await AlertingHarness.create(fixture);
    for (const name of ['acme', 'globex', 'initech', 'umbrella']) await fixture.bootstrap(name);
    // initech's token endpoint fails from now on; the other three refresh as usual.
    const silentSince = fixture.clock.now();
    fixture.instance('initech').sim.addFault({
      fault: { kind: 'status', status: 503 },
      path: '/oauth_token.do',
      times: Number.POSITIVE_INFINITY,
    });

    const readings = await runSchedules(alerting, DEAD_MAN_MS + 10 * MINUTE);

    const before = readings.filter((r) => r.at < silentSince + DEAD_MAN_MS);
    const after = readings.filter((r) => r.at >= silentSince + DEAD_MAN_MS);
    expect(before.length).toBeGreaterThan(20); // one per probe run
    expect(before.every((r) => r.silent === 0)).toBe(true);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.silent === 1)).toBe(true);
    // The first reading that counts it comes within one probe interval of the dead-man period.
    expect((after[0]?.at ?? Number.POSITIVE_INFINITY) - (silentSince + DEAD_MAN_MS)).toBeLessThanOrEqual(
      5 * MINUTE,
    );
    // What the alarm reads: the construct's constant, with no instance dimension (one metric).
    for (const r of readings) {
      expect(r.namespace).toBe(METRICS.namespace);
      expect(r.dimensions).toEqual([Object.keys(METRICS.deadMan.dimensions)]);
    }
    const named = fixture.logs
      .records()
      .filter((r) => String(r.message).startsWith('dead-man:'))
      .map((r) => r.instance);
    expect(new Set(named)).toEqual(new Set(['initech']));
  }, 120_000);

  it('publishes a reading of 0 on every probe run while every instance is refreshed', async () => {
    fixture = await RefresherFixture.create({ instances: [{ name: 'acme' }, { name: 'globex' }] });
    const alerting = await AlertingHarness.create(fixture);
    for (const name of ['acme', 'globex']) await fixture.bootstrap(name);

    const readings = await runSchedules(alerting, 3 * HOUR);

    expect(readings).toHaveLength(36);
    expect(readings.every((r) => r.silent === 0)).toBe(true);
  }, 120_000);
});
