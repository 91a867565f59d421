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
    this.advance(ms);
    // Yield so concurrent work interleaves as it would while a real timer runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw signal.reason;
  }
}
