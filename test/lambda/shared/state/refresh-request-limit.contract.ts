import { expect, it } from 'vitest';
import type { RefreshRequestLimit } from '../../../../lambda/shared/state/refresh-request-limit';

const MINUTE_START = Date.UTC(2026, 0, 5, 9, 30);

/**
 * What every RefreshRequestLimit promises the refresher: run against the in-memory count in the
 * unit tier and against DynamoDB in the integration tier.
 */
export function refreshRequestLimitContract(
  create: (perMinute: number) => Promise<RefreshRequestLimit>,
): void {
  it('lets through the per-minute number of requests for an instance, then says when the next is accepted', async () => {
    const limit = await create(2);

    const decisions = [
      await limit.take('acme', MINUTE_START + 1_000),
      await limit.take('acme', MINUTE_START + 20_000),
      await limit.take('acme', MINUTE_START + 59_000),
    ];

    expect(limit.perMinute).toBe(2);
    expect(decisions).toEqual([
      { granted: true },
      { granted: true },
      { granted: false, retryAt: MINUTE_START + 60_000 },
    ]);
  });

  it('counts each instance and each clock minute on its own', async () => {
    const limit = await create(1);
    await limit.take('acme', MINUTE_START);

    const otherInstance = await limit.take('globex', MINUTE_START + 1_000);
    const sameMinute = await limit.take('acme', MINUTE_START + 2_000);
    const nextMinute = await limit.take('acme', MINUTE_START + 60_000);

    expect([otherInstance, sameMinute, nextMinute]).toEqual([
      { granted: true },
      { granted: false, retryAt: MINUTE_START + 60_000 },
      { granted: true },
    ]);
  });

  it('refuses a limit that is not a whole number of 1 or more, naming an example', async () => {
    await expect(create(0)).rejects.toThrow(/whole number of 1 or more, e.g. 2/);
  });
}
