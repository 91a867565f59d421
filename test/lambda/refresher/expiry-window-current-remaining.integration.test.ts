import { afterEach, expect, it } from 'vitest';
import { formatExpiryWindowReport, measureExpiryWindows } from '../../../harness/expiry-window';
import { RefresherFixture } from '../../../harness/refresher-fixture';

// Early refresh mode 'current-remaining' (see docs/servicenow-behaviour.md: what an early refresh returns is unknown).
let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

it('holds an expired token for at most 5 s per token lifetime over 30 days on the default schedule', async () => {
  fixture = await RefresherFixture.create();

  const report = await measureExpiryWindows(fixture, 'current-remaining', 30);

  await fixture.close();
  console.log(formatExpiryWindowReport(report));
  expect(report.tokens).toBeGreaterThanOrEqual(30 * 48 - 2);
  expect(report.overstated).toBe(0);
  expect(report.worstMs).toBeLessThanOrEqual(5_000);
}, 300_000);
