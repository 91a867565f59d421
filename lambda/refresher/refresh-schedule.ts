import type { InstanceConfig } from '../shared/instance-config';
import type { RefreshOutcome } from '../shared/refresh-outcome';
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

  /**
   * Runs `targets` (at most `concurrency` at once). `decided` is called once the first of them have
   * read their state and decided, so that work started then (a wait, which on a virtual clock moves
   * time) cannot change what they decide.
   */
  const runOnce = async (
    targets: readonly InstanceConfig[],
    options: { readonly force: boolean; readonly knownDue: boolean; readonly decided?: () => void },
  ): Promise<Round> => {
    const { force, knownDue } = options;
    const round: Round = { results: [], errors: [] };
    if (targets.length === 0) {
      options.decided?.();
      return round;
    }
    const states =
      force || knownDue ? new Map<string, InstanceState>() : await state.getMany(targets.map((i) => i.name));
    const work = forEachLimited(targets, settings.concurrency, async (instance) => {
      try {
        round.results.push(await refreshIfDue(instance, states.get(instance.name), { force, knownDue }));
      } catch (error) {
        memory.delete(instance.name);
        round.errors.push({ instance: instance.name, error });
      }
    });
    options.decided?.();
    await work;
    return round;
  };

  return async (options = {}) => {
    const { only, waitUntil } = options;
    const force = options.force ?? false;
    const unknown = only?.filter((name) => !instances.some((i) => i.name === name)) ?? [];
    if (unknown.length) {
      throw new Error(
        `unknown instance ${unknown.join(', ')}; configured: ${instances.map((i) => i.name).join(', ')}`,
      );
    }
    const results: InstanceResult[] = [];
    const errors: Failed[] = [];
    const waits: Promise<void>[] = [];
    /**
     * Each instance waits for its own lapse, apart from the others: a slow grant or a retry on one
     * instance must not hold back another's refresh at the second its token lapses. One wait per
     * instance at a time; each ends in a run of that instance alone.
     */
    const waitFor = (instance: InstanceConfig, at: number, depth: number): void => {
      waits.push(
        (async () => {
          // A timer may fire a millisecond early: sleep again rather than run before the lapse.
          while (clock.now() < at) await clock.sleep(at - clock.now());
          try {
            // Due by this environment's own account: the lease's re-read is the only read needed.
            collect(await runOnce([instance], { force: false, knownDue: true }), depth + 1);
          } catch (error) {
            errors.push({ instance: instance.name, error });
          }
        })(),
      );
    };
    /** Waits again for `name` at `at` if this invocation may still wait then; says whether it will. */
    const waitAgain = (name: string, at: number, depth: number): boolean => {
      const instance = instances.find((i) => i.name === name);
      if (!instance || depth >= MAX_WAITS || waitUntil === undefined || at > waitUntil) return false;
      waitFor(instance, at, depth);
      return true;
    };
    /** AWS errors of a run at a lapse, held while that run is tried again. */
    const retrying = new Map<string, Failed>();
    const collect = (round: Round, depth: number) => {
      results.push(...round.results);
      for (const failed of round.errors) {
        // At a lapse every second counts: an AWS blip is tried again in this invocation, not the next.
        if (depth > 0 && waitAgain(failed.instance, clock.now() + LAPSE_RETRY_MS, depth)) {
          retrying.set(failed.instance, failed);
        } else errors.push(failed);
      }
      for (const r of round.results) {
        retrying.delete(r.instance);
        // Bounded: each round either ends a wait or moves past a lapsed token.
        if (r.wakeAt !== undefined && waitAgain(r.instance, r.wakeAt, depth)) continue;
        // Another writer held the lease at the lapse: look again shortly (it has likely refreshed).
        if (depth > 0 && LAPSE_RETRY_OUTCOMES.has(r.outcome))
          waitAgain(r.instance, clock.now() + LAPSE_RETRY_MS, depth);
      }
    };

    const now = clock.now();
    const inScope = instances.filter((i) => !only || only.includes(i.name));
    // Tokens this environment already knows lapse before the next run: each waits for its lapse.
    const waiting = force
      ? []
      : inScope.flatMap((i) => {
          const entry = memory.get(i.name);
          const wait =
            entry?.precise &&
            !envDeps.unsaved?.has(i.name) &&
            entry.at > now &&
            waitUntil !== undefined &&
            entry.at <= waitUntil;
          return wait ? [{ instance: i, at: entry.at }] : [];
        });
    const firstRound = inScope.filter(
      (i) =>
        !waiting.some((w) => w.instance === i) &&
        (force || envDeps.unsaved?.has(i.name) || (memory.get(i.name)?.at ?? 0) <= now),
    );
    try {
      const round = await runOnce(firstRound, {
        force,
        knownDue: false,
        decided: () => {
          for (const w of waiting) waitFor(w.instance, w.at, 0);
        },
      });
      collect(round, 0);
    } finally {
      // Every wait ends in this invocation, including those started while others ran.
      for (let settled = 0; settled < waits.length; ) {
        const batch = waits.slice(settled);
        settled = waits.length;
        await Promise.allSettled(batch);
      }
    }
    errors.push(...retrying.values());
    return { results, errors };
  };
}

/** In-process waits per instance and invocation. */
const MAX_WAITS = 20;
/** After a run at a lapse that found the lease held or failed on AWS, the next try. */
const LAPSE_RETRY_MS = 2_000;
const LAPSE_RETRY_OUTCOMES: ReadonlySet<RefreshOutcome> = new Set([
  'busy',
  'lease-lost',
  'lease-lapsing',
  'rotation-in-flight',
]);

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
