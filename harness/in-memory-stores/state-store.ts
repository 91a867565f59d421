import { type Clock, systemClock } from '../../lambda/shared/clock';
import type { AwsClock } from '../../lambda/shared/state/aws-clock';
import type { InstanceState, StatePatch } from '../../lambda/shared/state/instance-state';
import {
  type CommitOptions,
  LeaseLostError,
  type ProbeFields,
  type StateStore,
} from '../../lambda/shared/state/state-store';

type Item = { -readonly [K in keyof InstanceState]?: InstanceState[K] } & { instance: string };

export interface InMemoryStateStoreOptions {
  /**
   * Measures the writer's clock against `awsTime` on every answer, as DynamoStateStore does from
   * the Date header of AWS's answers, and refuses leases and writes past the allowed skew.
   */
  readonly awsClock?: AwsClock;
  /** The time the store's "AWS" answers carry. @default the system clock */
  readonly awsTime?: Clock;
}

/**
 * The state table in memory, keeping DynamoStateStore's promises (the contract suite in
 * test/lambda/shared/state checks both): conditional lease, epoch fencing, version bumps, `null`
 * removes, and values that callers cannot change behind the store's back.
 */
export class InMemoryStateStore implements StateStore {
  private readonly items = new Map<string, Item>();

  constructor(private readonly options: InMemoryStateStoreOptions = {}) {}

  checkClock(instance: string): void {
    this.options.awsClock?.check(instance);
  }

  earliestAwsTime(localMs: number): number {
    return this.options.awsClock?.earliestAwsTime(localMs) ?? localMs;
  }

  async get(instance: string): Promise<InstanceState | undefined> {
    return this.answer(this.copy(instance));
  }

  async getMany(instances: readonly string[]): Promise<Map<string, InstanceState>> {
    const found = new Map<string, InstanceState>();
    for (const instance of instances) {
      const state = this.copy(instance);
      if (state) found.set(instance, state);
    }
    return this.answer(found);
  }

  async acquireLease(instance: string, owner: string, now: number, durationMs: number) {
    if (this.options.awsClock && !this.options.awsClock.measured) await this.get(instance);
    this.checkClock(instance);
    const item = this.items.get(instance) ?? { instance };
    const free =
      item.leaseOwner === undefined ||
      (item.leaseExpiresAt !== undefined && item.leaseExpiresAt < now) ||
      item.leaseOwner === owner;
    if (!free) return this.answer(undefined);
    item.leaseOwner = owner;
    item.leaseExpiresAt = now + durationMs;
    item.leaseEpoch = (item.leaseEpoch ?? 0) + 1;
    this.items.set(instance, item);
    const state = this.copy(instance) as InstanceState;
    return this.answer({ ...state, version: state.version ?? 0 });
  }

  async commit(instance: string, owner: string, patch: StatePatch, options: CommitOptions) {
    this.checkClock(instance);
    const item = this.items.get(instance);
    const held =
      item?.leaseOwner === owner && (options.epoch === undefined || item.leaseEpoch === options.epoch);
    if (!item || !held) {
      this.answer(undefined);
      throw new LeaseLostError(instance);
    }
    // As in DynamoDB's if_not_exists: judged on the item before this write.
    const grantOpenSince = item.grantOpenSince ?? options.grantStartedAt;
    applyPatch(item, patch);
    if (options.grantStartedAt !== undefined) item.grantOpenSince = grantOpenSince;
    item.version = (item.version ?? 0) + 1;
    if (options.release) {
      delete item.leaseOwner;
      delete item.leaseExpiresAt;
    }
    return this.answer(this.copy(instance) as InstanceState);
  }

  async recordProbe(instance: string, fields: ProbeFields): Promise<void> {
    const item = this.items.get(instance) ?? { instance };
    applyPatch(item, fields);
    this.items.set(instance, item);
    this.answer(undefined);
  }

  async releaseLease(instance: string, owner: string): Promise<void> {
    const item = this.items.get(instance);
    if (item?.leaseOwner === owner) {
      delete item.leaseOwner;
      delete item.leaseExpiresAt;
    }
    this.answer(undefined);
  }

  private copy(instance: string): InstanceState | undefined {
    const item = this.items.get(instance);
    return item && (structuredClone(item) as InstanceState);
  }

  /** Every answer carries the store's time, as AWS's Date header does (whole seconds). */
  private answer<T>(value: T): T {
    const time = this.options.awsTime ?? systemClock;
    this.options.awsClock?.observe(new Date(time.now()).toUTCString());
    return value;
  }
}

/** Sets each defined field, removes each `null` one. */
function applyPatch(item: Record<string, unknown>, patch: object): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete item[key];
    else if (value !== undefined) item[key] = value;
  }
}
