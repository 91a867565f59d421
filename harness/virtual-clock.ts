import type { Clock } from '../lambda/shared/clock';

/**
 * A clock for time-warp tests: real time keeps flowing (so network latency is measured truly),
 * but sleeps and schedule gaps are skipped by jumping forward. Shared by the system under test and
 * the ServiceNow simulator, so both agree on what time it is.
 */
export class VirtualClock implements Clock {
  private offsetMs: number;
  /** Where a frozen clock stands; undefined while real time flows. */
  private frozenAt: number | undefined;

  /**
   * `flow: false` freezes it between advances: only sleeps and schedule gaps move it, so a golden
   * file compared to the minute cannot depend on how busy the machine was.
   */
  constructor(startMs = Date.UTC(2026, 0, 5, 9, 0, 0), options: { readonly flow?: boolean } = {}) {
    this.offsetMs = startMs - Date.now();
    if (options.flow === false) this.frozenAt = startMs;
  }

  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  /** Moves time forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (ms <= 0) return;
    this.offsetMs += ms;
    if (this.frozenAt !== undefined) this.frozenAt += ms;
  }

  /** Moves time forward to `atMs` if that is in the future. */
  advanceTo(atMs: number): void {
    this.advance(atMs - this.now());
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (this.idle) {
      await this.sleepUntilIdle(this.now() + Math.max(0, ms), signal);
      return;
    }
    this.advance(ms);
    // Yield so concurrent work interleaves as it would while a real timer runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw signal.reason;
  }

  private idle: (() => boolean) | undefined;
  private readonly sleepers: { readonly at: number; readonly wake: () => void }[] = [];
  private pumping = false;

  /**
   * For runs where several writers work at once (the chaos run): a sleep no longer moves time the
   * moment it is called, which made concurrent sleeps add up (one environment waiting 91 s moved
   * time under another's request). Sleepers are woken earliest first, and time jumps to a sleeper's
   * moment only while `idle()` says no request is in flight, as if the timers ran side by side.
   */
  scheduleSleepsWhenIdle(idle: () => boolean): void {
    this.idle = idle;
  }

  /** Whether sleepers wait for idle moments (see scheduleSleepsWhenIdle). */
  get schedulesSleepsWhenIdle(): boolean {
    return this.idle !== undefined;
  }

  private sleepUntilIdle(at: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const sleeper = {
        at,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const index = this.sleepers.indexOf(sleeper);
        if (index >= 0) this.sleepers.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
      this.pump();
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const step = () => {
      if (this.sleepers.length === 0) {
        this.pumping = false;
        return;
      }
      if (this.idle?.()) {
        let first = 0;
        for (let i = 1; i < this.sleepers.length; i++) {
          if ((this.sleepers[i]?.at ?? 0) < (this.sleepers[first]?.at ?? 0)) first = i;
        }
        const [sleeper] = this.sleepers.splice(first, 1);
        if (sleeper) {
          this.advanceTo(sleeper.at);
          sleeper.wake();
        }
      }
      setTimeout(step, 1);
    };
    setTimeout(step, 1);
  }
}
