import type { Incident, IncidentKind } from '../../lambda/shared/alerts/incident';
import {
  type IncidentChange,
  IncidentConflictError,
  type IncidentStore,
  incidentKey,
  nextIncident,
  type OutboxClaim,
} from '../../lambda/shared/alerts/incident-store';

/**
 * Incidents in memory, keeping DynamoIncidentStore's promises (the contract suite in
 * test/lambda/shared/alerts checks both): every change conditional on the version it was read at,
 * and an outbox message claimed by one sender at a time.
 */
export class InMemoryIncidentStore implements IncidentStore {
  private readonly items = new Map<string, Incident>();

  async get(name: string, kind: IncidentKind): Promise<Incident | undefined> {
    return this.copy(incidentKey(name, kind));
  }

  async getMany(names: readonly string[], kinds: readonly IncidentKind[]): Promise<Map<string, Incident>> {
    const found = new Map<string, Incident>();
    for (const key of names.flatMap((name) => kinds.map((kind) => incidentKey(name, kind)))) {
      const incident = this.copy(key);
      if (incident) found.set(key, incident);
    }
    return found;
  }

  async apply(change: IncidentChange): Promise<Incident> {
    const key = incidentKey(change.name, change.kind);
    const current = this.items.get(key);
    const unchanged = change.previous ? current?.version === change.previous.version : current === undefined;
    if (!unchanged) throw new IncidentConflictError();
    const next = nextIncident(change);
    this.items.set(key, structuredClone(next));
    return next;
  }

  async claimOutbox({ name, kind, id, owner, now, staleBefore }: OutboxClaim): Promise<boolean> {
    const incident = this.items.get(incidentKey(name, kind));
    const outbox = incident?.outbox;
    if (!incident || outbox?.id !== id) return false;
    if (!(outbox.claimedAt < staleBefore || outbox.claimedBy === owner)) return false;
    this.items.set(incidentKey(name, kind), {
      ...incident,
      outbox: { ...outbox, claimedBy: owner, claimedAt: now },
    });
    return true;
  }

  async clearOutbox(name: string, kind: IncidentKind, id: string): Promise<void> {
    const incident = this.items.get(incidentKey(name, kind));
    if (incident?.outbox?.id !== id) return;
    const { outbox: _outbox, ...rest } = incident;
    this.items.set(incidentKey(name, kind), rest);
  }

  private copy(key: string): Incident | undefined {
    const incident = this.items.get(key);
    return incident && structuredClone(incident);
  }
}
