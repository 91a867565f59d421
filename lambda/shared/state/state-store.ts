import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AwsClock } from './aws-clock';
import { batchRead } from './batch-read';
import { type InstanceState, readInstanceState, type StatePatch } from './instance-state';

export class LeaseLostError extends Error {
  constructor(instance: string) {
    super(
      `lost the lease on ${instance} before writing; another writer took over (this run wrote nothing more)`,
    );
    this.name = 'LeaseLostError';
  }
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** Builds "SET a = :a, ... REMOVE b" from a patch; null removes. */
function patchExpression(patch: StatePatch): {
  set: string[];
  remove: string[];
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  const set: string[] = [];
  const remove: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    names[`#${key}`] = key;
    if (value === null) remove.push(`#${key}`);
    else {
      set.push(`#${key} = :${key}`);
      values[`:${key}`] = value;
    }
  }
  return { set, remove, names, values };
}

/** How a commit under the lease is made. */
export interface CommitOptions {
  /** Give the lease back in the same write. */
  readonly release: boolean;
  /**
   * The `leaseEpoch` acquireLease returned: the write is fenced, and fails with LeaseLostError if
   * the lease was taken over since, even by a writer with the same owner name.
   */
  readonly epoch?: number;
  /** A grant is about to be sent: recorded as `grantOpenSince` unless an earlier one is unrecorded. */
  readonly grantStartedAt?: number;
}

/** The probe's own fields of the state; `null` removes one. */
export interface ProbeFields {
  readonly lastProbeAt: number;
  readonly lastProbeVerdict: NonNullable<InstanceState['lastProbeVerdict']>;
  readonly lastProbeDetail: string | null;
  readonly lastProbeLatencyMs: number | null;
}

/**
 * The state table: one item per instance. Every write but the probe's is conditional on the
 * instance's lease, so concurrent refresher runs, probes and CLI commands never lose each other's
 * updates. DynamoStateStore is the deployed one; the unit tests use an in-memory one that keeps the
 * same promises (harness/in-memory-stores), checked by one contract suite against both.
 */
export interface StateStore {
  /** Throws ClockSkewError if this writer's clock is past the allowed skew (no call). */
  checkClock(instance: string): void;
  /**
   * The earliest AWS time a local timestamp can stand for, so an expiry computed from it is never
   * later than ServiceNow's (the local time where the writer does not measure its clock).
   */
  earliestAwsTime(localMs: number): number;
  /** The instance's state, read consistently; undefined if it has none yet. */
  get(instance: string): Promise<InstanceState | undefined>;
  /** The states of these instances; those without one are absent from the map. */
  getMany(instances: readonly string[]): Promise<Map<string, InstanceState>>;
  /**
   * Takes the instance's lease if it is free, expired or already this owner's, bumping its
   * `leaseEpoch`, and returns the state as it is now (the re-read every writer must act on).
   * Returns undefined when someone else holds it.
   */
  acquireLease(
    instance: string,
    owner: string,
    now: number,
    durationMs: number,
  ): Promise<InstanceState | undefined>;
  /**
   * Writes a patch (`null` removes a field) while holding the lease and bumps `version`; throws
   * LeaseLostError if `owner` no longer holds it (or, with `epoch`, holds a later acquisition).
   */
  commit(instance: string, owner: string, patch: StatePatch, options: CommitOptions): Promise<InstanceState>;
  /**
   * The probe's own fields: written without the lease, since no other writer touches them and they
   * never decide a refresh.
   */
  recordProbe(instance: string, fields: ProbeFields): Promise<void>;
  /** Gives the lease back without other changes; a no-op if it is no longer ours. */
  releaseLease(instance: string, owner: string): Promise<void>;
}

/** The state table in DynamoDB, keyed by `instance`; every condition is a DynamoDB condition expression. */
export class DynamoStateStore implements StateStore {
  private readonly doc: DynamoDBDocumentClient;

  /**
   * With `awsClock`, every lease and write is refused (ClockSkewError) while this writer's clock is
   * too far from AWS's, measured from the Date header of this client's own answers.
   */
  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly awsClock?: AwsClock,
  ) {
    awsClock?.attach(client as unknown as Parameters<AwsClock['attach']>[0]);
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  checkClock(instance: string): void {
    this.awsClock?.check(instance);
  }

  /** The earliest AWS time a local timestamp can stand for (the local time without an AWS clock). */
  earliestAwsTime(localMs: number): number {
    return this.awsClock?.earliestAwsTime(localMs) ?? localMs;
  }

  async get(instance: string): Promise<InstanceState | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { instance }, ConsistentRead: true }),
    );
    return out.Item && readInstanceState(out.Item);
  }

  /** One call per 100 instances. */
  async getMany(instances: readonly string[]): Promise<Map<string, InstanceState>> {
    const found = new Map<string, InstanceState>();
    for (const item of await batchRead(this.doc, this.tableName, instances, 'state')) {
      const state = readInstanceState(item);
      found.set(state.instance, state);
    }
    return found;
  }

  async acquireLease(
    instance: string,
    owner: string,
    now: number,
    durationMs: number,
  ): Promise<InstanceState | undefined> {
    // The lease is judged by this writer's clock: measure it against AWS first (a cold writer that
    // has had no answer yet pays one read for it).
    if (this.awsClock && !this.awsClock.measured) await this.get(instance);
    this.checkClock(instance);
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { instance },
          // Each acquisition gets a new epoch: the fencing token every commit under it must match.
          UpdateExpression:
            'SET leaseOwner = :owner, leaseExpiresAt = :until, leaseEpoch = if_not_exists(leaseEpoch, :zero) + :one',
          ConditionExpression:
            'attribute_not_exists(leaseOwner) OR leaseExpiresAt < :now OR leaseOwner = :owner',
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': now + durationMs,
            ':now': now,
            ':zero': 0,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = readInstanceState(out.Attributes ?? {});
      return { ...item, version: item.version ?? 0 };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async commit(
    instance: string,
    owner: string,
    patch: StatePatch,
    options: CommitOptions,
  ): Promise<InstanceState> {
    this.checkClock(instance);
    const { set, remove, names, values } = patchExpression(patch);
    set.push('#version = if_not_exists(#version, :zero) + :one');
    names['#version'] = 'version';
    values[':zero'] = 0;
    values[':one'] = 1;
    values[':owner'] = owner;
    if (options.release) remove.push('leaseOwner', 'leaseExpiresAt');
    if (options.grantStartedAt !== undefined) {
      // The earliest unrecorded grant counts: a later one must not hide it.
      set.push('#grantOpenSince = if_not_exists(#grantOpenSince, :grantStartedAt)');
      names['#grantOpenSince'] = 'grantOpenSince';
      values[':grantStartedAt'] = options.grantStartedAt;
    }
    let condition = 'leaseOwner = :owner';
    if (options.epoch !== undefined) {
      condition += ' AND leaseEpoch = :epoch';
      values[':epoch'] = options.epoch;
    }
    const input: UpdateCommandInput = {
      TableName: this.tableName,
      Key: { instance },
      UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    };
    try {
      const out = await this.doc.send(new UpdateCommand(input));
      return readInstanceState(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseLostError(instance);
      throw error;
    }
  }

  /**
   * The probe's own fields: written without the lease, since no other writer touches them and they
   * never decide a refresh.
   */
  async recordProbe(instance: string, fields: ProbeFields): Promise<void> {
    const { set, remove, names, values } = patchExpression(fields as unknown as StatePatch);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { instance },
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async releaseLease(instance: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { instance },
          UpdateExpression: 'REMOVE leaseOwner, leaseExpiresAt',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
