import { afterEach, expect, it } from 'vitest';
import { formatExpiryWindowReport, measureExpiryWindows } from '../../../harness/expiry-window';
import { RefresherFixture } from '../../../harness/refresher-fixture';

// Early refresh mode 'new-token' (see docs/servicenow-behaviour.md: what an early refresh returns is unknown).
let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

it('never holds an expired token in the extending mode over 30 days on the default schedule', async () => {
  fixture = await RefresherFixture.create();

  const report = await measureExpiryWindows(fixture, 'new-token', 30);

  await fixture.close();
  console.log(formatExpiryWindowReport(report));
  expect(report.tokens).toBeGreaterThanOrEqual(30 * 48 - 2);
  expect(report.overstated).toBe(0);
  expect(report.worstMs).toBe(0);
}, 300_000);
