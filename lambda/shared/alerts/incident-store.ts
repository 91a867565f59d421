import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchRead } from '../state/batch-read';
import {
  type Incident,
  type IncidentKind,
  type OutboxMessage,
  readIncident,
  type Transition,
} from './incident';

export class IncidentConflictError extends Error {
  constructor() {
    super('another writer changed the incident first');
    this.name = 'IncidentConflictError';
  }
}

const isConditionFailure = (error: unknown) =>
  (error as { name?: string })?.name === 'ConditionalCheckFailedException';

export function incidentKey(name: string, kind: IncidentKind): string {
  return `${name}#incident#${kind}`;
}

/**
 * Incidents, one per instance and kind, every write conditional on the version it was read at.
 * DynamoIncidentStore is the deployed one; the unit tests use an in-memory one that keeps the same
 * promises (harness/in-memory-stores), checked by one contract suite against both.
 */
export interface IncidentStore {
  get(name: string, kind: IncidentKind): Promise<Incident | undefined>;
  /** All incidents of these instances and kinds, keyed by incidentKey(name, kind). */
  getMany(names: readonly string[], kinds: readonly IncidentKind[]): Promise<Map<string, Incident>>;
  /**
   * Records a transition (and the message it parks in the outbox) if nobody else has changed the
   * incident since `previous` was read; throws IncidentConflictError otherwise.
   */
  apply(change: IncidentChange): Promise<Incident>;
  /**
   * Takes over the parked message `id` if its claim is older than `staleBefore` or already
   * `owner`'s; false when another sender holds it or it is gone.
   */
  claimOutbox(claim: OutboxClaim): Promise<boolean>;
  /** Removes the parked message `id`; a no-op if another message (or none) is parked. */
  clearOutbox(name: string, kind: IncidentKind, id: string): Promise<void>;
}

export interface IncidentChange {
  readonly name: string;
  readonly kind: IncidentKind;
  /** The incident as it was read (undefined: none existed). */
  readonly previous: Incident | undefined;
  readonly change: Transition;
  readonly outbox: OutboxMessage | undefined;
}

export interface OutboxClaim {
  readonly name: string;
  readonly kind: IncidentKind;
  readonly id: string;
  readonly owner: string;
  readonly now: number;
  readonly staleBefore: number;
}

/** The incident that `change` makes of `previous`, one version on. */
export function nextIncident({ name, kind, previous, change, outbox }: IncidentChange): Incident {
  const { notice: _notice, ...fields } = change;
  return { ...previous, ...fields, name, kind, outbox, version: (previous?.version ?? 0) + 1 };
}

/** Incidents in the state table, one item per instance and kind ("<name>#incident#<kind>"). */
export class DynamoIncidentStore implements IncidentStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get(name: string, kind: IncidentKind): Promise<Incident | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { instance: incidentKey(name, kind) },
        ConsistentRead: true,
      }),
    );
    return out.Item && readIncident(out.Item);
  }

  /** One call per 100. */
  async getMany(names: readonly string[], kinds: readonly IncidentKind[]): Promise<Map<string, Incident>> {
    const keys = names.flatMap((name) => kinds.map((kind) => incidentKey(name, kind)));
    const found = new Map<string, Incident>();
    for (const item of await batchRead(this.doc, this.tableName, keys, 'incident')) {
      const incident = readIncident(item);
      found.set(incidentKey(incident.name, incident.kind), incident);
    }
    return found;
  }

  async apply(applied: IncidentChange): Promise<Incident> {
    const { name, kind, previous } = applied;
    const next: Incident & { instance: string } = {
      ...nextIncident(applied),
      instance: incidentKey(name, kind),
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: next,
          ConditionExpression: previous ? 'version = :version' : 'attribute_not_exists(#key)',
          ...(previous
            ? { ExpressionAttributeValues: { ':version': previous.version } }
            : { ExpressionAttributeNames: { '#key': 'instance' } }),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new IncidentConflictError();
      throw error;
    }
    return next;
  }

  /** Takes over an unsent message whose sender is gone (or is us, retrying). */
  claimOutbox({ name, kind, id, owner, now, staleBefore }: OutboxClaim): Promise<boolean> {
    return this.updateOutbox(name, kind, {
      update: 'SET outbox.claimedBy = :owner, outbox.claimedAt = :now',
      condition: 'outbox.id = :id AND (outbox.claimedAt < :stale OR outbox.claimedBy = :owner)',
      values: { ':owner': owner, ':now': now, ':id': id, ':stale': staleBefore },
    });
  }

  /** Removes the outbox if it still holds message `id` (another one is left alone). */
  async clearOutbox(name: string, kind: IncidentKind, id: string): Promise<void> {
    await this.updateOutbox(name, kind, {
      update: 'REMOVE outbox',
      condition: 'outbox.id = :id',
      values: { ':id': id },
    });
  }

  /** One conditional update of an incident's outbox; false when its condition failed. */
  private async updateOutbox(
    name: string,
    kind: IncidentKind,
    change: { update: string; condition: string; values: Record<string, unknown> },
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { instance: incidentKey(name, kind) },
          UpdateExpression: change.update,
          ConditionExpression: change.condition,
          ExpressionAttributeValues: change.values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
