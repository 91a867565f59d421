import { AlertingHarness } from '../../harness/alerting-harness';
import { RefresherFixture } from '../../harness/refresher-fixture';

export interface ScaleMeasure {
  readonly instances: number;
  readonly latencyMs: number;
  readonly concurrency: number;
  readonly elapsedMs: number;
  readonly refreshed: number;
  /** The smallest concurrency that would refresh them all within `goalMs`, at the measured pace. */
  readonly concurrencyForGoal: number;
}

/**
 * One scheduled refresher run that finds every instance's token lapsed, with ServiceNow answering
 * each request 200 ms late: how long until all are refreshed, at the refresher's own concurrency.
 */
export async function measureScale(instances = 200, latencyMs = 200, goalMs = 60_000): Promise<ScaleMeasure> {
  const fixture = await RefresherFixture.create({
    instances: Array.from({ length: instances }, (_, i) => ({ name: `i${String(i).padStart(3, '0')}` })),
  });
  try {
    const alerting = await AlertingHarness.create(fixture);
    const names = fixture.instances.map((i) => i.config.name);
    for (let next = 0; next < names.length; ) {
      await Promise.all(names.slice(next, next + 8).map((name) => fixture.bootstrap(name)));
      next += 8;
    }
    for (const instance of fixture.instances) {
      instance.sim.addFault({ fault: { kind: 'latency', ms: latencyMs }, times: Number.POSITIVE_INFINITY });
    }
    const handler = alerting.refreshHandler();
    // Every token lapsed: each instance needs exactly one refresh, whatever its early-refresh mode.
    fixture.clock.advance(1800_000 + 2_000);
    const started = performance.now();
    const response = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    const elapsedMs = performance.now() - started;
    const refreshed = response.results.filter((r) => r.outcome === 'refreshed').length;
    const concurrency = fixture.settings.concurrency;
    const serialMs = elapsedMs * concurrency;
    return {
      instances,
      latencyMs,
      concurrency,
      elapsedMs,
      refreshed,
      concurrencyForGoal: Math.max(1, Math.ceil(serialMs / goalMs)),
    };
  } finally {
    await fixture.close();
  }
}
