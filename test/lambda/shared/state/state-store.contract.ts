import { expect, it } from 'vitest';
import type { Clock } from '../../../../lambda/shared/clock';
import { ClockSkewError } from '../../../../lambda/shared/state/aws-clock';
import { LeaseLostError, type StateStore } from '../../../../lambda/shared/state/state-store';

const NOW = Date.UTC(2026, 0, 5);
const LEASE_MS = 90_000;

export interface StateStoreUnderTest {
  /** A store with no items; with `writerClock`, it measures that clock against AWS's. */
  create(options?: { readonly writerClock?: Clock }): Promise<StateStore>;
}

/**
 * What every StateStore promises the writers (the refresher, bootstrap and renew, the probe): run
 * against the in-memory store in the unit tier and against DynamoDB in the integration tier.
 */
export function stateStoreContract(subject: StateStoreUnderTest): void {
  it('has no state for an instance nobody wrote, and leaves it out of a batch read', async () => {
    const store = await subject.create();
    await store.recordProbe('globex', {
      lastProbeAt: NOW,
      lastProbeVerdict: 'ok',
      lastProbeDetail: null,
      lastProbeLatencyMs: 40,
    });

    expect(await store.get('acme')).toBeUndefined();
    const many = await store.getMany(['acme', 'globex']);
    expect([...many.keys()]).toEqual(['globex']);
  });

  it('grants a free lease with a new epoch, refuses it to a second owner, and lets the holder take it again', async () => {
    const store = await subject.create();

    const first = await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS);
    const second = await store.acquireLease('acme', 'writer-b', NOW + 1_000, LEASE_MS);
    const again = await store.acquireLease('acme', 'writer-a', NOW + 2_000, LEASE_MS);

    expect(first).toMatchObject({ instance: 'acme', version: 0, leaseOwner: 'writer-a', leaseEpoch: 1 });
    expect(second).toBeUndefined();
    expect(again).toMatchObject({
      leaseOwner: 'writer-a',
      leaseEpoch: 2,
      leaseExpiresAt: NOW + 2_000 + LEASE_MS,
    });
  });

  it('lets another writer take over a lapsed lease, with the next epoch', async () => {
    const store = await subject.create();
    await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS);

    const taken = await store.acquireLease('acme', 'writer-b', NOW + LEASE_MS + 1, LEASE_MS);

    expect(taken).toMatchObject({ leaseOwner: 'writer-b', leaseEpoch: 2 });
  });

  it('commits a patch under the lease: sets fields, removes null ones, bumps the version, and releases when asked', async () => {
    const store = await subject.create();
    const leased = await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS);
    const epoch = leased?.leaseEpoch;
    await store.commit(
      'acme',
      'writer-a',
      { lastOutcome: 'refreshed', lastOutcomeDetail: 'was failing', consecutiveFailures: 2 },
      { release: false, epoch },
    );

    const next = await store.commit(
      'acme',
      'writer-a',
      { lastOutcomeDetail: null, consecutiveFailures: 0, accessTokenExpiresAt: NOW + 1_800_000 },
      { release: true, epoch },
    );

    expect(next).toMatchObject({
      lastOutcome: 'refreshed',
      consecutiveFailures: 0,
      accessTokenExpiresAt: NOW + 1_800_000,
      version: 2,
    });
    expect(next.lastOutcomeDetail).toBeUndefined();
    expect(next.leaseOwner).toBeUndefined();
    expect(await store.get('acme')).toEqual(next);
    expect(await store.acquireLease('acme', 'writer-b', NOW + 1_000, LEASE_MS)).toBeDefined();
  });

  it('refuses a commit from a writer that does not hold the lease', async () => {
    const store = await subject.create();
    await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS);

    await expect(
      store.commit('acme', 'writer-b', { lastOutcome: 'refreshed' }, { release: true }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      store.commit('globex', 'writer-b', { lastOutcome: 'refreshed' }, { release: true }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect((await store.get('acme'))?.lastOutcome).toBeUndefined();
  });

  it('fences a commit made under a lease that was taken over since, even by a writer of the same name', async () => {
    const store = await subject.create();
    const first = await store.acquireLease('acme', 'refresher/env-1', NOW, LEASE_MS);
    await store.acquireLease('acme', 'refresher/env-1', NOW + LEASE_MS + 1, LEASE_MS);

    await expect(
      store.commit(
        'acme',
        'refresher/env-1',
        { lastOutcome: 'refreshed' },
        { release: true, epoch: first?.leaseEpoch },
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect((await store.get('acme'))?.leaseOwner).toBe('refresher/env-1');
  });

  it('keeps the earliest unrecorded grant when another grant starts before the first was recorded', async () => {
    const store = await subject.create();
    const epoch = (await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS))?.leaseEpoch;

    await store.commit('acme', 'writer-a', {}, { release: false, epoch, grantStartedAt: NOW + 1_000 });
    const second = await store.commit(
      'acme',
      'writer-a',
      {},
      { release: false, epoch, grantStartedAt: NOW + 5_000 },
    );
    const recorded = await store.commit(
      'acme',
      'writer-a',
      { grantOpenSince: null },
      { release: true, epoch },
    );

    expect(second.grantOpenSince).toBe(NOW + 1_000);
    expect(recorded.grantOpenSince).toBeUndefined();
  });

  it('gives the lease back only to its holder, and changes nothing else doing so', async () => {
    const store = await subject.create();
    await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS);
    const before = await store.get('acme');

    await store.releaseLease('acme', 'writer-b');
    const stillHeld = await store.get('acme');
    await store.releaseLease('acme', 'writer-a');
    const released = await store.get('acme');

    expect(stillHeld?.leaseOwner).toBe('writer-a');
    expect(released?.leaseOwner).toBeUndefined();
    expect(released?.leaseExpiresAt).toBeUndefined();
    expect(released?.version).toBe(before?.version);
    expect(released?.leaseEpoch).toBe(before?.leaseEpoch);
  });

  it("records the probe's fields without the lease and without disturbing its holder", async () => {
    const store = await subject.create();
    await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS);
    await store.recordProbe('acme', {
      lastProbeAt: NOW,
      lastProbeVerdict: 'unavailable',
      lastProbeDetail: 'instance unavailable: hibernating',
      lastProbeLatencyMs: null,
    });

    await store.recordProbe('acme', {
      lastProbeAt: NOW + 60_000,
      lastProbeVerdict: 'ok',
      lastProbeDetail: null,
      lastProbeLatencyMs: 35,
    });

    const state = await store.get('acme');
    expect(state).toMatchObject({
      lastProbeAt: NOW + 60_000,
      lastProbeVerdict: 'ok',
      lastProbeLatencyMs: 35,
    });
    expect(state?.lastProbeDetail).toBeUndefined();
    expect(state?.leaseOwner).toBe('writer-a');
  });

  it('hands out copies: changing a state it returned changes nothing stored', async () => {
    const store = await subject.create();
    const leased = (await store.acquireLease('acme', 'writer-a', NOW, LEASE_MS)) as { leaseOwner?: string };

    leased.leaseOwner = 'someone-else';

    expect((await store.get('acme'))?.leaseOwner).toBe('writer-a');
  });

  it("refuses the lease to a writer whose clock is a minute ahead of AWS's", async () => {
    const ahead: Clock = {
      now: () => Date.now() + 60_000,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
    const store = await subject.create({ writerClock: ahead });

    await expect(store.acquireLease('acme', 'writer-a', ahead.now(), LEASE_MS)).rejects.toBeInstanceOf(
      ClockSkewError,
    );
    expect((await store.get('acme'))?.leaseOwner).toBeUndefined();
  });
}
