import type { ServerResponse } from 'node:http';

/**
 * What the harness's own HTTP servers (the ServiceNow simulator, the AWS fault proxy) are doing:
 * requests in flight, and when the last one started or ended (real time). A virtual clock that
 * jumps only while nothing is in flight (see VirtualClock.scheduleSleepsWhenIdle) keeps one
 * writer's sleep from moving time under another writer's request.
 */
class HttpActivity {
  private inFlight = 0;
  private lastChange = 0;

  /** Counts a request from its arrival until its response is finished or the client went away. */
  track(res: ServerResponse): void {
    this.inFlight++;
    this.lastChange = performance.now();
    res.once('close', () => {
      this.inFlight--;
      this.lastChange = performance.now();
    });
  }

  /**
   * Counts an SDK call from start to end, retries and their (real-time) backoff included: between
   * two attempts nothing is on the wire, yet the caller is not idle.
   */
  async during<T>(call: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.lastChange = performance.now();
    try {
      return await call();
    } finally {
      this.inFlight--;
      this.lastChange = performance.now();
    }
  }

  /** Nothing in flight, and nothing started or ended for `quietMs` (the client has read its answer). */
  idle(quietMs: number): boolean {
    return this.inFlight === 0 && performance.now() - this.lastChange >= quietMs;
  }
}

export const httpActivity = new HttpActivity();
