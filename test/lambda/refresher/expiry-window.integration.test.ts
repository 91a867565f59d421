import { afterEach, expect, it } from 'vitest';
import { formatExpiryWindowReport, measureExpiryWindows } from '../../../harness/expiry-window';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import type { EarlyRefreshMode } from '../../../harness/servicenow-simulator';

// What an early refresh returns is unknown (docs/servicenow-behaviour.md), so each mode is lived through.
let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

it.each<[EarlyRefreshMode, string, number]>([
  ['current-full', 'holds an expired token for at most 5 s per token lifetime', 5_000],
  ['current-remaining', 'holds an expired token for at most 5 s per token lifetime', 5_000],
  ['new-token', 'never holds an expired token in the extending mode', 0],
])(
  '%s: %s over 30 days on the default schedule',
  async (mode, _claim, worstMs) => {
    fixture = await RefresherFixture.create();

    const report = await measureExpiryWindows(fixture, mode, 30);

    await fixture.close();
    console.log(formatExpiryWindowReport(report));
    expect(report.tokens).toBeGreaterThanOrEqual(30 * 48 - 2);
    expect(report.overstated).toBe(0);
    expect(report.worstMs).toBeLessThanOrEqual(worstMs);
  },
  300_000,
);
