import { afterEach, describe, expect, it } from 'vitest';
import { runSyncJob } from '../../examples/sync-job';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { syncJobTokenClient } from '../../harness/token-client-fixture';

let fixture: RefresherFixture;
afterEach(async () => {
  const logged = fixture.logs.text();
  await fixture.close();
  for (const secret of fixture.secretValues()) expect(logged).not.toContain(secret);
});

describe('the sync-job example', () => {
  it('syncs every listed record with one secret read for the whole job', async () => {
    fixture = await RefresherFixture.create({ instances: [{ name: 'acme', settings: { tableRows: 25 } }] });
    await fixture.bootstrap();
    const { tokens, reads } = syncJobTokenClient(fixture);
    const names: unknown[] = [];

    const result = await runSyncJob({
      tokens,
      clock: fixture.clock,
      onRecord: (r) => void names.push(r.user_name),
    });

    expect(result).toEqual({ listed: 25, synced: 25, failed: [] });
    expect(names).toContain('sim.user25');
    expect(reads.count).toBe(1);
  });

  it('syncs records whose text mentions hibernation, offline or maintenance, as the data they are', async () => {
    fixture = await RefresherFixture.create({ instances: [{ name: 'acme', settings: { incidentRows: 8 } }] });
    await fixture.bootstrap();
    const { tokens } = syncJobTokenClient(fixture);
    const texts: unknown[] = [];

    const result = await runSyncJob({
      tokens,
      clock: fixture.clock,
      table: 'incident',
      onRecord: (r) => void texts.push(r.short_description),
    });

    expect(result).toEqual({ listed: 8, synced: 8, failed: [] });
    expect(texts.join(' ')).toMatch(/hibernation/);
    expect(texts.join(' ')).toMatch(/currently offline/);
    expect(texts.join(' ')).toMatch(/maintenance/);
  });

  it('finishes a job whose token is revoked half-way, with one refresh', async () => {
    fixture = await RefresherFixture.create({ instances: [{ name: 'acme', settings: { tableRows: 20 } }] });
    await fixture.bootstrap();
    const { tokens, invocations } = syncJobTokenClient(fixture);
    let seen = 0;
    const revokeAtTen = async () => {
      if (++seen === 10) fixture.instance().sim.revoke((await tokens.getToken()).accessToken);
    };

    const result = await runSyncJob({ tokens, clock: fixture.clock, concurrency: 1, onRecord: revokeAtTen });

    expect(result).toEqual({ listed: 20, synced: 20, failed: [] });
    expect(invocations).toHaveLength(1);
  });
});
