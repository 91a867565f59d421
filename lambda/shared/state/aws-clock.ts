import type { Clock } from '../clock';

/**
 * The largest difference between a writer's clock and AWS's at which it may still take a lease or
 * write. Leases are judged by each writer's clock; with every writer within this bound of AWS, and
 * every holder stopping LEASE_SAFETY_MS (> 2 x this + the Date header's 1 s resolution) before its
 * lease ends, a lease is never taken over while its holder may still write.
 */
export const MAX_CLOCK_SKEW_MS = 5_000;

/** This writer's clock is too far from AWS's: it refused to take the lease or to write. */
export class ClockSkewError extends Error {
  constructor(
    instance: string,
    readonly skewMs: number,
  ) {
    super(
      `refused to write ${instance}: this writer's clock is ${Math.round(skewMs / 1000)} s ${skewMs > 0 ? 'ahead of' : 'behind'} AWS (at most ${MAX_CLOCK_SKEW_MS / 1000} s allowed). Sync the clock (NTP) of the machine that runs it, then retry`,
    );
    this.name = 'ClockSkewError';
  }
}

let meters = 0;

interface MiddlewareClient {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<{ response: unknown }>,
      ) => (args: unknown) => Promise<{ response: unknown }>,
      options: { step: 'deserialize'; name: string },
    ): void;
  };
}

/**
 * Measures this writer's clock against AWS from the Date header of every AWS answer (no extra
 * call): DynamoDB signs nothing with it, but it is AWS's own time to the second.
 */
export class AwsClock {
  private offsetMs: number | undefined;

  constructor(
    private readonly clock: Clock,
    readonly maxSkewMs = MAX_CLOCK_SKEW_MS,
  ) {}

  /** Reads the Date header of each answer the client receives. */
  attach(client: MiddlewareClient): void {
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const headers = (result.response as { headers?: Record<string, string> } | undefined)?.headers;
        if (headers?.date) this.observe(headers.date);
        return result;
      },
      // One name per meter: a client may serve several stores, each with its own meter.
      { step: 'deserialize', name: `awsClockSkew${++meters}` },
    );
  }

  /** An AWS Date header (whole seconds, so its midpoint is the best guess). */
  observe(dateHeader: string): void {
    const aws = Date.parse(dateHeader);
    if (Number.isFinite(aws)) this.offsetMs = this.clock.now() - (aws + 500);
  }

  /**
   * The earliest AWS time `localMs` can be, for timestamps that bound an expiry: a writer whose
   * clock runs ahead (within the refusal bound) would otherwise store expiries later than
   * ServiceNow's. The Date header is whole seconds, so AWS was at least at its value when the answer
   * arrived; a writer that runs behind keeps its own (earlier) time.
   */
  earliestAwsTime(localMs: number): number {
    if (this.offsetMs === undefined) return localMs;
    return localMs - Math.max(0, this.offsetMs + 500);
  }

  /** Local minus AWS time, once an answer was seen. */
  get skewMs(): number | undefined {
    return this.offsetMs;
  }

  get measured(): boolean {
    return this.offsetMs !== undefined;
  }

  /** Throws ClockSkewError when the last measurement is past the bound. */
  check(instance: string): void {
    if (this.offsetMs !== undefined && Math.abs(this.offsetMs) > this.maxSkewMs) {
      throw new ClockSkewError(instance, this.offsetMs);
    }
  }
}
