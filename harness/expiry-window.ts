import { type RefresherFixture, recordSecretWrites } from './refresher-fixture';
import type { EarlyRefreshMode } from './servicenow-simulator';
import { TimeWarp } from './time-warp';

export interface ExpiryWindowReport {
  readonly mode: EarlyRefreshMode;
  readonly days: number;
  /** Access tokens stored over the run. */
  readonly tokens: number;
  /** Per stored token: how long it stayed in the secret after ServiceNow considered it expired (ms). */
  readonly windowsMs: readonly number[];
  readonly worstMs: number;
  readonly medianMs: number;
  /** Stored tokens whose recorded expiry was later than ServiceNow's (must be zero). */
  readonly overstated: number;
  readonly invocations: number;
  readonly serviceNowCalls: number;
}

/**
 * Lives through `days` on the refresher's schedule and measures, from ServiceNow's own record of
 * each token, how long the access-token secret held a token that had already expired.
 */
export async function measureExpiryWindows(
  fixture: RefresherFixture,
  mode: EarlyRefreshMode,
  days: number,
): Promise<ExpiryWindowReport> {
  const instance = fixture.instance();
  instance.sim.settings.earlyRefreshMode = mode;
  const writes = recordSecretWrites(fixture);
  await fixture.bootstrap();
  const handler = fixture.handler();
  const warp = new TimeWarp(fixture.clock).every('refresher', fixture.settings.scheduleIntervalMs, () =>
    handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }),
  );
  const start = fixture.sim.log.length;
  const invocations = await warp.runFor(days * 86_400_000, (tick) => {
    if (tick.error) throw tick.error;
  });
  const end = fixture.clock.now();

  const stored = writes
    .filter((w) => w.secretId === instance.config.accessTokenSecretId)
    .map((w) => ({
      at: w.at,
      token: String(w.value.accessToken),
      expiresAt: Date.parse(String(w.value.expiresAt)),
    }));
  const windowsMs: number[] = [];
  let overstated = 0;
  for (let i = 0; i < stored.length; i++) {
    const current = stored[i];
    if (!current) continue;
    const real = instance.sim.accessToken(current.token)?.expiresAt ?? 0;
    if (current.expiresAt > real) overstated++;
    if (stored[i + 1]?.token === current.token) continue; // same token re-stored with a corrected expiry
    const replacedAt = stored[i + 1]?.at ?? end;
    windowsMs.push(Math.max(0, replacedAt - real));
  }
  const sorted = [...windowsMs].sort((a, b) => a - b);
  return {
    mode,
    days,
    tokens: new Set(stored.map((s) => s.token)).size,
    windowsMs,
    worstMs: sorted.at(-1) ?? 0,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
    overstated,
    invocations,
    serviceNowCalls: fixture.sim.log.length - start,
  };
}

export function formatExpiryWindowReport(r: ExpiryWindowReport): string {
  return `${r.mode}: ${r.days} days, ${r.invocations} scheduled runs, ${r.tokens} tokens, ${r.serviceNowCalls} ServiceNow calls; stored token expired for worst ${(r.worstMs / 1000).toFixed(3)} s, median ${(r.medianMs / 1000).toFixed(3)} s per token lifetime`;
}
