import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { CONSUMER_NAME_PATTERN } from '../deployment-contract';
import * as z from '../zod';

const DAY = 86_400_000;

/** Consumer names: what the operator types after --to, e.g. "exalate" or "exalate-prod". */
export const CONSUMER_NAME = CONSUMER_NAME_PATTERN;

/**
 * A refresh token held by another tool (Exalate and the like). Never its value: the fingerprint
 * tells tokens apart, and a watched token's value lives in its own secret (see `watchSecretName`).
 */
export const consumerTokenSchema = z.object({
  consumer: z.string().check(z.regex(CONSUMER_NAME)),
  instance: z.string().check(z.minLength(1)),
  /** 'handoff': minted by snow-token handoff; 'track': minted elsewhere and recorded by hand. */
  source: z.enum(['handoff', 'track']),
  /** When the password grant that issued it ran (ms). The token's life counts from here. */
  issuedAt: z.number().check(z.int()),
  lifespanSeconds: z.number().check(z.int(), z.positive()),
  /** Absent for a token tracked from its issue date only. */
  fingerprint: z.optional(z.string()),
  clientId: z.optional(z.string()),
  /** The instance (or a proxy) hands out a new refresh token on every refresh: never verify it. */
  rotating: z.boolean(),
  /** Kept in a secret and proven once a day with a refresh grant. */
  watched: z.boolean(),
  recordedAt: z.number().check(z.int()),
  /** Watched tokens: the last daily proof, and what ServiceNow said. */
  lastVerifiedAt: z.optional(z.number().check(z.int())),
  lastVerdict: z.optional(z.enum(['accepted', 'refused', 'rotated', 'unavailable', 'no-secret'])),
});

export type ConsumerToken = z.output<typeof consumerTokenSchema>;

export function consumerTokenExpiresAt(token: Pick<ConsumerToken, 'issuedAt' | 'lifespanSeconds'>): number {
  return token.issuedAt + token.lifespanSeconds * 1000;
}

export function consumerDaysLeft(token: ConsumerToken, now: number): number {
  return Math.floor((consumerTokenExpiresAt(token) - now) / DAY);
}

/** The name the incidents of one consumer's token live under (never clashes with an instance name). */
export function consumerIncidentName(instance: string, consumer: string): string {
  return `${instance}#consumer#${consumer}`;
}

/**
 * The secret a watched token's value is kept in: beside the instance's credentials secret, under
 * the deployment's prefix (<prefix><instance>/consumer-<tool>). Takes the credentials secret's name
 * or ARN (whose random suffix is dropped).
 */
export function watchSecretName(credentialsSecretId: string, consumer: string): string {
  const name = credentialsSecretId.includes(':secret:')
    ? (credentialsSecretId.split(':secret:')[1] ?? '').replace(/-[A-Za-z0-9]{6}$/, '')
    : credentialsSecretId;
  if (!name.endsWith('/credentials')) {
    throw new Error(
      `the credentials secret "${credentialsSecretId}" is not named <prefix><instance>/credentials, so a watch secret cannot be named beside it`,
    );
  }
  return name.replace(/credentials$/, `consumer-${consumer}`);
}

/** What is kept in a watch secret: enough for one refresh grant, nothing more. */
export const watchSecretSchema = z.object({
  schemaVersion: z.literal(1),
  consumer: z.string().check(z.regex(CONSUMER_NAME)),
  clientId: z.string().check(z.minLength(1)),
  clientSecret: z.string().check(z.minLength(1)),
  refreshToken: z.string().check(z.minLength(1)),
});

export type WatchSecret = z.output<typeof watchSecretSchema>;

interface ConsumerItem {
  readonly instance: string;
  readonly tokens: Record<string, ConsumerToken>;
  readonly version: number;
}

function itemKey(instance: string): string {
  return `${instance}#consumer-tokens`;
}

const isConditionFailure = (error: unknown) =>
  (error as { name?: string })?.name === 'ConditionalCheckFailedException';

/**
 * Tokens held by other tools, in the state table: one item per instance ("<instance>#consumer-tokens"),
 * a map of consumer name to record. Writes are conditional on the item's version, so two operators
 * recording at once never lose each other's record. No secret value is ever written here.
 */
export class ConsumerTokenStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async list(instance: string): Promise<ConsumerToken[]> {
    const item = await this.read(instance);
    return item ? Object.values(item.tokens) : [];
  }

  /** Every tracked token of these instances, one call per 100 instances. */
  async listMany(instances: readonly string[]): Promise<ConsumerToken[]> {
    const found: ConsumerToken[] = [];
    for (let i = 0; i < instances.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = instances
        .slice(i, i + 100)
        .map((name) => ({ instance: itemKey(name) }));
      for (let attempt = 0; keys?.length && attempt < 5; attempt++) {
        const out: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          found.push(...Object.values((item as ConsumerItem).tokens ?? {}));
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
      if (keys?.length) throw new Error(`DynamoDB left ${keys.length} consumer-token reads unprocessed`);
    }
    return found.sort((a, b) => `${a.instance}/${a.consumer}`.localeCompare(`${b.instance}/${b.consumer}`));
  }

  /** Records a token for its consumer, replacing the consumer's previous record. Returns the one replaced. */
  async record(token: ConsumerToken): Promise<ConsumerToken | undefined> {
    const parsed = consumerTokenSchema.parse(token);
    let previous: ConsumerToken | undefined;
    const done = await this.modify(parsed.instance, (tokens) => {
      previous = tokens[parsed.consumer];
      return { ...tokens, [parsed.consumer]: parsed };
    });
    if (!done) {
      throw new Error(
        `the consumer-token record for ${parsed.instance} kept changing under us; nothing was recorded, try again`,
      );
    }
    return previous;
  }

  /**
   * Changes fields of one consumer's record, if it is still the one recorded at `recordedAt` (a new
   * handoff in between wins). Returns false when the record was replaced or removed.
   */
  async update(
    instance: string,
    consumer: string,
    recordedAt: number,
    patch: Partial<Pick<ConsumerToken, 'lastVerifiedAt' | 'lastVerdict' | 'rotating' | 'watched'>>,
  ): Promise<boolean> {
    return this.modify(instance, (tokens) => {
      const current = tokens[consumer];
      return current?.recordedAt === recordedAt
        ? { ...tokens, [consumer]: { ...current, ...patch } }
        : undefined;
    });
  }

  /** Read, change, write conditional on the version; again if someone wrote in between. */
  private async modify(
    instance: string,
    change: (tokens: Record<string, ConsumerToken>) => Record<string, ConsumerToken> | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const item = await this.read(instance);
      const tokens = change({ ...item?.tokens });
      if (!tokens) return false;
      const next: ConsumerItem = { instance: itemKey(instance), tokens, version: (item?.version ?? 0) + 1 };
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: next,
            ...(item
              ? {
                  ConditionExpression: 'version = :version',
                  ExpressionAttributeValues: { ':version': item.version },
                }
              : {
                  ConditionExpression: 'attribute_not_exists(#key)',
                  ExpressionAttributeNames: { '#key': 'instance' },
                }),
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return false;
  }

  private async read(instance: string): Promise<ConsumerItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { instance: itemKey(instance) },
        ConsistentRead: true,
      }),
    );
    return out.Item as ConsumerItem | undefined;
  }
}
