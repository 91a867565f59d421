import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/** Refresh requests from sync jobs and the probe that may reach ServiceNow, per instance and minute. */
export const DEFAULT_REFRESH_REQUESTS_PER_MINUTE = 2;
/** Requests are counted per clock minute. */
export const REQUEST_WINDOW_MS = 60_000;

export type LimitDecision =
  | { readonly granted: true }
  /** No request may reach ServiceNow before `retryAt` (clock ms). */
  | { readonly granted: false; readonly retryAt: number };

/** The state table's item that counts an instance's refresh requests, beside its state item. */
export function refreshRequestsKey(instance: string): string {
  return `${instance}#refresh-requests`;
}

/**
 * Counts, per instance and clock minute, the refresh requests that were let through to the
 * refresher: never more than `perMinute` in one minute, however many execution environments ask
 * at once. DynamoRefreshRequestLimit is the deployed one; the unit tests use an in-memory one.
 */
export interface RefreshRequestLimit {
  readonly perMinute: number;
  /** Spends one of the instance's requests for the minute of `now`, if one is left. */
  take(instance: string, now: number): Promise<LimitDecision>;
}

/** `perMinute` if it is a whole number of 1 or more; otherwise an error that says what to set. */
export function checkedPerMinute(perMinute: number): number {
  if (!Number.isInteger(perMinute) || perMinute < 1) {
    throw new Error(`refresh requests per minute must be a whole number of 1 or more, e.g. 2`);
  }
  return perMinute;
}

/** The start of the clock minute `now` falls in: requests are counted per such window. */
export function requestWindow(now: number): number {
  return Math.floor(now / REQUEST_WINDOW_MS) * REQUEST_WINDOW_MS;
}

/**
 * One item of the state table per instance, beside its state item. Both steps are conditional
 * writes, so concurrent requests never let more than the limit through.
 */
export class DynamoRefreshRequestLimit implements RefreshRequestLimit {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    readonly perMinute = DEFAULT_REFRESH_REQUESTS_PER_MINUTE,
  ) {
    checkedPerMinute(perMinute);
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async take(instance: string, now: number): Promise<LimitDecision> {
    const window = requestWindow(now);
    const values = { ':one': 1, ':window': window };
    const granted =
      // The usual case: the minute's window is open and has room.
      (await this.conditional(
        instance,
        'SET requests = requests + :one',
        'windowStart = :window AND requests < :max',
        {
          ...values,
          ':max': this.perMinute,
        },
      )) ||
      // A new minute (or a first request): open its window with this request.
      (await this.conditional(
        instance,
        'SET windowStart = :window, requests = :one',
        'attribute_not_exists(windowStart) OR windowStart < :window',
        values,
      ));
    return granted ? { granted: true } : { granted: false, retryAt: window + REQUEST_WINDOW_MS };
  }

  /** One conditional update of the instance's request item; false when its condition failed. */
  private async conditional(
    instance: string,
    update: string,
    condition: string,
    values: Record<string, number>,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { instance: refreshRequestsKey(instance) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
