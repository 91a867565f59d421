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
 * every-minute runs take seconds. Invocations run one after another; one that waits in-process
 * moves the clock itself, and the schedule catches up afterwards as the next invocation would.
 */
export class TimeWarp {
  private readonly schedules: Schedule[] = [];

  constructor(private readonly clock: VirtualClock) {}

  /** Adds a rate schedule whose first run is one interval from now (as after a deployment). */
  every(name: string, intervalMs: number, run: () => Promise<unknown>): this {
    this.schedules.push({ name, intervalMs, nextAt: this.clock.now() + intervalMs, run });
    return this;
  }

  /**
   * Runs every due invocation until `durationMs` from now. An invocation that throws is reported
   * to `onTick` (as Lambda would report an error) and the schedule carries on.
   */
  async runFor(durationMs: number, onTick?: (event: TickEvent) => void | Promise<void>): Promise<number> {
    const end = this.clock.now() + durationMs;
    let invocations = 0;
    for (;;) {
      const next = this.schedules.reduce<Schedule | undefined>(
        (earliest, s) => (earliest === undefined || s.nextAt < earliest.nextAt ? s : earliest),
        undefined,
      );
      if (!next || next.nextAt > end) break;
      this.clock.advanceTo(next.nextAt);
      const at = next.nextAt;
      next.nextAt += next.intervalMs;
      invocations++;
      try {
        const result = await next.run();
        await onTick?.({ schedule: next.name, at, result });
      } catch (error) {
        await onTick?.({ schedule: next.name, at, error });
      }
    }
    this.clock.advanceTo(end);
    return invocations;
  }
}
