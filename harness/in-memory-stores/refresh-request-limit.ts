import {
  checkedPerMinute,
  DEFAULT_REFRESH_REQUESTS_PER_MINUTE,
  type LimitDecision,
  REQUEST_WINDOW_MS,
  type RefreshRequestLimit,
  requestWindow,
} from '../../lambda/shared/state/refresh-request-limit';

/**
 * The per-instance, per-minute count of refresh requests in memory, keeping
 * DynamoRefreshRequestLimit's promises (the contract suite in test/lambda/shared/state checks both).
 */
export class InMemoryRefreshRequestLimit implements RefreshRequestLimit {
  private readonly windows = new Map<string, { readonly start: number; requests: number }>();

  constructor(readonly perMinute = DEFAULT_REFRESH_REQUESTS_PER_MINUTE) {
    checkedPerMinute(perMinute);
  }

  async take(instance: string, now: number): Promise<LimitDecision> {
    const window = requestWindow(now);
    const counted = this.windows.get(instance);
    if (counted?.start === window && counted.requests < this.perMinute) {
      counted.requests++;
      return { granted: true };
    }
    if (counted === undefined || counted.start < window) {
      this.windows.set(instance, { start: window, requests: 1 });
      return { granted: true };
    }
    return { granted: false, retryAt: window + REQUEST_WINDOW_MS };
  }
}
