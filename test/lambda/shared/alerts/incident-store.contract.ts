import { expect, it } from 'vitest';
import type { IncidentKind, OutboxMessage, Transition } from '../../../../lambda/shared/alerts/incident';
import {
  IncidentConflictError,
  type IncidentStore,
  incidentKey,
} from '../../../../lambda/shared/alerts/incident-store';

const NOW = Date.UTC(2026, 0, 5);
const opened: Transition = { status: 'open', openedAt: NOW, firstSeenAt: NOW, notice: 'opened' };
const message = (id: string, claimedBy: string, claimedAt: number): OutboxMessage => ({
  id,
  notice: 'opened',
  reason: 'hibernating',
  severity: 'warning',
  subject: 'acme: ServiceNow unavailable',
  body: 'The instance answers with its hibernation page.',
  claimedBy,
  claimedAt,
});

/** Opens an incident nobody recorded yet. */
const open = (store: IncidentStore, kind: IncidentKind, outbox?: OutboxMessage) =>
  store.apply({ name: 'acme', kind, previous: undefined, change: opened, outbox });

/**
 * What every IncidentStore promises the alerts (one transition wins, one sender sends): run against
 * the in-memory store in the unit tier and against DynamoDB in the integration tier.
 */
export function incidentStoreContract(create: () => Promise<IncidentStore>): void {
  it('records a new incident at version 1 without the notice, readable alone and in a batch', async () => {
    const store = await create();

    const created = await open(store, 'unavailable');

    expect(created).toMatchObject({ name: 'acme', kind: 'unavailable', status: 'open', version: 1 });
    expect(created).not.toHaveProperty('notice');
    expect(await store.get('acme', 'unavailable')).toMatchObject({ status: 'open', version: 1 });
    const many = await store.getMany(['acme', 'globex'], ['unavailable', 'rate-limited']);
    expect([...many.keys()]).toEqual([incidentKey('acme', 'unavailable')]);
  });

  it('lets only one of two writers that read the same version record its transition', async () => {
    const store = await create();
    const read = await open(store, 'refresh');
    const closed: Transition = { status: 'closed', closedAt: NOW + 1, notice: 'resolved' };

    await store.apply({ name: 'acme', kind: 'refresh', previous: read, change: closed, outbox: undefined });

    await expect(
      store.apply({ name: 'acme', kind: 'refresh', previous: read, change: closed, outbox: undefined }),
    ).rejects.toBeInstanceOf(IncidentConflictError);
    await expect(open(store, 'refresh')).rejects.toBeInstanceOf(IncidentConflictError);
    expect(await store.get('acme', 'refresh')).toMatchObject({ status: 'closed', version: 2 });
  });

  it('hands a parked message to one sender at a time, and to another once the claim is stale', async () => {
    const store = await create();
    await open(store, 'unavailable', message('m-1', 'fn/env-1', NOW));
    const claim = { name: 'acme', kind: 'unavailable', id: 'm-1' } as const;

    const byOther = await store.claimOutbox({
      ...claim,
      owner: 'fn/env-2',
      now: NOW + 1_000,
      staleBefore: NOW - 1,
    });
    const byHolder = await store.claimOutbox({
      ...claim,
      owner: 'fn/env-1',
      now: NOW + 1_000,
      staleBefore: NOW - 1,
    });
    const wrongId = await store.claimOutbox({
      ...claim,
      id: 'm-2',
      owner: 'fn/env-2',
      now: NOW + 9e5,
      staleBefore: NOW + 2e5,
    });
    const stale = await store.claimOutbox({
      ...claim,
      owner: 'fn/env-2',
      now: NOW + 9e5,
      staleBefore: NOW + 2e5,
    });

    expect([byOther, byHolder, wrongId, stale]).toEqual([false, true, false, true]);
    expect((await store.get('acme', 'unavailable'))?.outbox).toMatchObject({
      claimedBy: 'fn/env-2',
      claimedAt: NOW + 9e5,
    });
  });

  it('clears only the parked message it names', async () => {
    const store = await create();
    await open(store, 'unavailable', message('m-1', 'fn/env-1', NOW));

    await store.clearOutbox('acme', 'unavailable', 'm-0');
    const kept = await store.get('acme', 'unavailable');
    await store.clearOutbox('acme', 'unavailable', 'm-1');
    await store.clearOutbox('globex', 'unavailable', 'm-1');

    expect(kept?.outbox?.id).toBe('m-1');
    expect((await store.get('acme', 'unavailable'))?.outbox).toBeUndefined();
  });
}
