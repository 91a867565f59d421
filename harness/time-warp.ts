import type { VirtualClock } from './virtual-clock';

interface Schedule {
  readonly name: string;
  readonly intervalMs: number;
  nextAt: number;
  readonly run: () => Promise<unknown>;
}

export interface TickEvent {
  readonly schedule: string;
  readonly at: number;
  readonly result?: unknown;
  readonly error?: unknown;
}

/**
 * Runs functions as their EventBridge schedules would, on a virtual clock: a hundred days of
 * every-minute runs take seconds.
 *
 * By default invocations run one after another; one that waits in-process moves the clock itself,
 * and the schedule catches up afterwards. With `overlap`, each invocation starts at its own moment
 * whether or not earlier ones have ended, as EventBridge starts them (a run that outlasts its minute
 * does not hold back the next): the schedule then sleeps on the clock like any waiting function, so
 * on an idle-scheduled clock its moments and theirs come in order.
 */
export class TimeWarp {
  private readonly schedules: Schedule[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly options: { readonly overlap?: boolean } = {},
  ) {}

  /** Adds a rate schedule whose first run is one interval from now (as after a deployment). */
  every(name: string, intervalMs: number, run: () => Promise<unknown>): this {
    this.schedules.push({ name, intervalMs, nextAt: this.clock.now() + intervalMs, run });
    return this;
  }

  /**
   * Runs every due invocation until `durationMs` from now. An invocation that throws is reported
   * to `onTick` (as Lambda would report an error) and the schedule carries on; if `onTick` itself
   * throws, no new invocation starts and runFor rejects with that error once the running ones end.
   */
  async runFor(durationMs: number, onTick?: (event: TickEvent) => void | Promise<void>): Promise<number> {
    if (this.options.overlap && !this.clock.schedulesSleepsWhenIdle) {
      // On a clock where a sleep moves time at once, a run's sleep would move it under the others.
      throw new Error(
        'TimeWarp overlap needs a clock that schedules sleeps when idle (scheduleSleepsWhenIdle)',
      );
    }
    const end = this.clock.now() + durationMs;
    let invocations = 0;
    const running = new Set<Promise<void>>();
    let stopped: { readonly error: unknown } | undefined;
    for (;;) {
      const next = this.schedules.reduce<Schedule | undefined>(
        (earliest, s) => (earliest === undefined || s.nextAt < earliest.nextAt ? s : earliest),
        undefined,
      );
      if (stopped || !next || next.nextAt > end) break;
      // While a run is under way, the next moment comes in order with its sleeps; once none is, at once.
      if (running.size > 0) await this.untilOrQuiet(next.nextAt, running);
      this.clock.advanceTo(next.nextAt);
      if (stopped) break;
      const at = next.nextAt;
      next.nextAt += next.intervalMs;
      invocations++;
      const invocation = (async () => {
        let event: TickEvent;
        try {
          event = { schedule: next.name, at, result: await next.run() };
        } catch (error) {
          event = { schedule: next.name, at, error };
        }
        try {
          await onTick?.(event);
        } catch (error) {
          stopped ??= { error };
        }
      })();
      if (!this.options.overlap) await invocation;
      else {
        running.add(invocation);
        void invocation.finally(() => running.delete(invocation));
      }
    }
    await Promise.all(running);
    if (stopped) throw stopped.error;
    this.clock.advanceTo(end);
    return invocations;
  }

  /** Sleeps on the clock until `at`, or until every run in `running` has ended, whichever is first. */
  private async untilOrQuiet(at: number, running: ReadonlySet<Promise<void>>): Promise<void> {
    const quiet = new AbortController();
    void Promise.all(running).then(() => quiet.abort());
    try {
      await this.clock.sleep(Math.max(0, at - this.clock.now()), quiet.signal);
    } catch (error) {
      if (!quiet.signal.aborted) throw error;
    } finally {
      quiet.abort();
    }
  }
}
