/**
 * Real-time delays (latency, slow bodies). They use setTimeout, not the simulator clock, because they
 * model the network, and they are cancelled when the instance closes so no timer outlives a test.
 */
export class RealTimeWaits {
  private readonly pending = new Map<NodeJS.Timeout, (completed: boolean) => void>();
  private cancelled = false;

  /** Resolves true after `ms`, or false at once if the instance closes first. */
  wait(ms: number): Promise<boolean> {
    if (this.cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve(true);
      }, ms);
      this.pending.set(timer, resolve);
    });
  }

  cancelAll(): void {
    this.cancelled = true;
    for (const [timer, resolve] of this.pending) {
      clearTimeout(timer);
      resolve(false);
    }
    this.pending.clear();
  }
}
