import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/** Refresh requests from sync jobs and the probe that may reach ServiceNow, per instance and minute. */
export const DEFAULT_REFRESH_REQUESTS_PER_MINUTE = 2;
const WINDOW_MS = 60_000;

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
 * refresher, in one item of the state table. Both steps are conditional writes, so concurrent
 * requests from many execution environments never let more than the limit through in a minute.
 */
export class RefreshRequestLimit {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    readonly perMinute = DEFAULT_REFRESH_REQUESTS_PER_MINUTE,
  ) {
    if (!Number.isInteger(perMinute) || perMinute < 1) {
      throw new Error(`refresh requests per minute must be a whole number of 1 or more, e.g. 2`);
    }
    this.doc = DynamoDBDocumentClient.from(client);
  }

  /** Spends one of the instance's requests for the minute of `now`, if one is left. */
  async take(instance: string, now: number): Promise<LimitDecision> {
    const window = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    const key = { instance: refreshRequestsKey(instance) };
    // The usual case: the minute's window is open and has room.
    if (
      await this.conditional({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET requests = requests + :one',
        ConditionExpression: 'windowStart = :window AND requests < :max',
        ExpressionAttributeValues: { ':one': 1, ':window': window, ':max': this.perMinute },
      })
    ) {
      return { granted: true };
    }
    // A new minute (or a first request): open its window with this request.
    if (
      await this.conditional({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET windowStart = :window, requests = :one',
        ConditionExpression: 'attribute_not_exists(windowStart) OR windowStart < :window',
        ExpressionAttributeValues: { ':one': 1, ':window': window },
      })
    ) {
      return { granted: true };
    }
    return { granted: false, retryAt: window + WINDOW_MS };
  }

  private async conditional(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand(input));
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
