import type { InstanceConfig } from '../shared/instance-config';
import type { InstanceState } from '../shared/state/instance-state';
import { type InstanceResult, type RefreshDeps, refreshInstance } from './refresh-instance';
import { decide } from './refresh-policy';

export interface RunOptions {
  /** Refresh now, whatever the stored expiry or backoff says. */
  readonly force?: boolean;
  /** Only these instances (names); default all. */
  readonly only?: readonly string[];
  /** Wait in-process for tokens that lapse before this time (clock ms); later ones are left to the next run. */
  readonly waitUntil?: number;
}

export interface RunSummary {
  readonly results: readonly InstanceResult[];
  /** Instances that failed with an AWS error; the run throws after the others finish. */
  readonly errors: readonly { readonly instance: string; readonly error: unknown }[];
}

type Failed = { readonly instance: string; readonly error: unknown };
type Round = { readonly results: InstanceResult[]; readonly errors: Failed[] };

/** Runs the due refreshes; remembers, for this execution environment, when to look again. */
export type RefreshSchedule = (options?: RunOptions) => Promise<RunSummary>;

/**
 * Runs refreshes for every configured instance. Holds, per execution environment, when each
 * instance next needs a look, so the every-minute schedule costs no AWS call while nothing is due.
 */
export function createRefreshSchedule(
  deps: RefreshDeps,
  instances: readonly InstanceConfig[],
): RefreshSchedule {
  const { clock, settings, state } = deps;
  // Rotated refresh tokens this environment could not store yet: they outlive a run, not the environment.
  const envDeps: RefreshDeps = { ...deps, unsaved: deps.unsaved ?? new Map() };
  /** Per instance: when to look again, and whether that moment is a token's exact lapse. */
  const memory = new Map<string, { readonly at: number; readonly precise: boolean }>();

  const remember = (instance: string, recheckAt: number, precise: boolean): void => {
    const cap = clock.now() + settings.memoryMaxAgeMs;
    memory.set(instance, { at: Math.min(recheckAt, cap), precise: precise && recheckAt <= cap });
  };

  const refreshIfDue = async (
    instance: InstanceConfig,
    known: InstanceState | undefined,
    { force, knownDue }: { readonly force: boolean; readonly knownDue: boolean },
  ): Promise<InstanceResult> => {
    const decision = decide(known, clock.now(), settings, force);
    if (!decision.act && !knownDue && !envDeps.unsaved?.has(instance.name)) {
      remember(instance.name, decision.recheckAt, decision.wakeAt !== undefined);
      return { instance: instance.name, outcome: 'not-due', state: known, wakeAt: decision.wakeAt };
    }
    const result = await refreshInstance(envDeps, instance, {
      force,
      shouldAct: (fresh) => decide(fresh, clock.now(), settings).act,
    });
    if (result.outcome === 'busy') {
      // Another writer holds it; look again on the next run.
      memory.delete(instance.name);
      return result;
    }
    const after = result.state ? decide(result.state, clock.now(), settings) : undefined;
    if (after && !after.act) {
      remember(instance.name, after.recheckAt, after.wakeAt !== undefined);
      return { ...result, wakeAt: result.wakeAt ?? after.wakeAt };
    }
    memory.delete(instance.name);
    return result;
  };

  const runOnce = async (
    only: readonly string[] | undefined,
    { force, knownDue }: { readonly force: boolean; readonly knownDue: boolean },
  ): Promise<Round> => {
    const now = clock.now();
    const unknown = only?.filter((name) => !instances.some((i) => i.name === name)) ?? [];
    if (unknown.length) {
      throw new Error(
        `unknown instance ${unknown.join(', ')}; configured: ${instances.map((i) => i.name).join(', ')}`,
      );
    }
    const targets = instances.filter(
      (i) =>
        (!only || only.includes(i.name)) &&
        (force || envDeps.unsaved?.has(i.name) || (memory.get(i.name)?.at ?? 0) <= now),
    );
    if (targets.length === 0) return { results: [], errors: [] };
    const states =
      force || knownDue ? new Map<string, InstanceState>() : await state.getMany(targets.map((i) => i.name));

    const round: Round = { results: [], errors: [] };
    await forEachLimited(targets, settings.concurrency, async (instance) => {
      try {
        round.results.push(await refreshIfDue(instance, states.get(instance.name), { force, knownDue }));
      } catch (error) {
        memory.delete(instance.name);
        round.errors.push({ instance: instance.name, error });
      }
    });
    return round;
  };

  return async (options = {}) => {
    const results: InstanceResult[] = [];
    const errors: Failed[] = [];
    const { waitUntil } = options;
    const waits: Promise<void>[] = [];
    /**
     * Each instance waits for its own lapse, apart from the others: a slow grant or a retry on one
     * instance must not hold back another's refresh at the second its token lapses.
     */
    const waitFor = (name: string, at: number, round: number): void => {
      waits.push(
        (async () => {
          await clock.sleep(Math.max(0, at - clock.now()));
          // Due by this environment's own account: the lease's re-read is the only read needed.
          collect(await runOnce([name], { force: false, knownDue: true }), round + 1);
        })(),
      );
    };
    const collect = (round: Round, depth: number) => {
      results.push(...round.results);
      errors.push(...round.errors);
      for (const r of round.results) {
        // Bounded: each round either ends a wait or moves past a lapsed token.
        if (r.wakeAt !== undefined && waitUntil !== undefined && r.wakeAt <= waitUntil && depth < MAX_WAITS) {
          waitFor(r.instance, r.wakeAt, depth);
        }
      }
    };
    // Tokens this environment already knows lapse before the next run: wait for them from the start
    // (they are not due now, so the first round below does not touch them).
    const now = clock.now();
    for (const [name, entry] of memory) {
      const inScope =
        (!options.only || options.only.includes(name)) && !options.force && !envDeps.unsaved?.has(name);
      if (entry.precise && inScope && waitUntil !== undefined && entry.at > now && entry.at <= waitUntil) {
        waitFor(name, entry.at, 0);
      }
    }
    collect(await runOnce(options.only, { force: options.force ?? false, knownDue: false }), 0);
    // Waits started while others were running: wait for all, including those they start.
    for (let settled = 0; settled < waits.length; ) {
      const batch = waits.slice(settled);
      settled = waits.length;
      await Promise.all(batch);
    }
    return { results, errors };
  };
}

/** In-process waits per instance and invocation. */
const MAX_WAITS = 20;

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}
