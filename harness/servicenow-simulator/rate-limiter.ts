const HOUR_MS = 3_600_000;

export interface RateLimitDecision {
  allowed: boolean;
  /** X-RateLimit-* headers (there is no "remaining" header), plus Retry-After when refused. */
  headers: Record<string, string>;
}

/** A REST API rate limit rule: per user, per clock hour (fixed windows aligned to the hour). */
export class HourlyRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly ruleId: string) {}

  /** Counts one request of `username` and says whether it is within `limitPerHour`. */
  admit(username: string, limitPerHour: number, now: number): RateLimitDecision {
    const start = Math.floor(now / HOUR_MS) * HOUR_MS;
    const reset = start + HOUR_MS;
    let window = this.windows.get(username);
    if (window === undefined || window.start !== start) {
      window = { start, count: 0 };
      this.windows.set(username, window);
    }
    window.count += 1;
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(limitPerHour),
      'X-RateLimit-Reset': String(reset / 1000),
      'X-RateLimit-Rule': this.ruleId,
    };
    if (window.count <= limitPerHour) return { allowed: true, headers };
    return {
      allowed: false,
      headers: { ...headers, 'Retry-After': String(Math.max(1, Math.ceil((reset - now) / 1000))) },
    };
  }
}
