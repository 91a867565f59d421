/**
 * A complete sync job that uses the token client: lists the records of a ServiceNow table, then
 * fetches each one, a few at a time. Every call gets its token from the client (cached, shared,
 * never expired) and a 401 is handled by the client (one re-read, one retry).
 *
 *   SNOW_INSTANCE=acme \
 *   ACCESS_TOKEN_SECRET_ID=servicenow-token/acme/access-token \
 *   REFRESHER_FUNCTION_NAME=servicenow-token-refresher \
 *   npx tsx examples/sync-job.ts
 */
import { fileURLToPath } from 'node:url';
import {
  type Clock,
  createServiceNowAgent,
  createTokenClient,
  describeOutcome,
  isTransient,
  type Outcome,
  ServiceNowApiClient,
  systemClock,
  type TokenClient,
} from 'servicenow-token-refresher/client';
import type { Dispatcher } from 'undici';
import { z } from 'zod';

export interface SyncJobOptions {
  /** One per process and instance, shared by every worker of the job. */
  readonly tokens: Pick<TokenClient, 'getToken' | 'invalidate'>;
  /** @default a new keep-alive agent, closed at the end */
  readonly dispatcher?: Dispatcher;
  /** @default 'sys_user' */
  readonly table?: string;
  /** How many records to sync. @default 100 */
  readonly limit?: number;
  /** Requests in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Each request's token stays valid at least this long. @default 5 minutes */
  readonly minValidityMs?: number;
  /** Called with each record fetched; a real job writes it somewhere. @default - counts only */
  readonly onRecord?: (record: Record<string, unknown>) => Promise<void> | void;
  /** @default systemClock */
  readonly clock?: Clock;
}

export interface SyncJobResult {
  readonly listed: number;
  readonly synced: number;
  /** Records that could not be fetched, with why (never a token). */
  readonly failed: readonly { readonly sysId: string; readonly reason: string }[];
}

const listSchema = z.object({ result: z.array(z.object({ sys_id: z.string() })) });
const recordSchema = z.object({ result: z.record(z.string(), z.unknown()) });
const MAX_ATTEMPTS = 3;

export async function runSyncJob(options: SyncJobOptions): Promise<SyncJobResult> {
  const table = encodeURIComponent(options.table ?? 'sys_user');
  const clock = options.clock ?? systemClock;
  const dispatcher = options.dispatcher ?? createServiceNowAgent();
  const api = new ServiceNowApiClient({ tokens: options.tokens, dispatcher });
  const minValidityMs = options.minValidityMs ?? 5 * 60_000;

  // Transient answers (rate limit, hibernation, timeouts) get a few bounded retries.
  const get = async <T>(path: string, schema: z.ZodType<T>): Promise<Outcome<T>> => {
    for (let attempt = 1; ; attempt++) {
      const outcome = await api.request(path, { schema, minValidityMs });
      if (outcome.kind === 'ok' || !isTransient(outcome) || attempt >= MAX_ATTEMPTS) return outcome;
      const retryAfterMs = outcome.kind === 'rate-limited' ? (outcome.retryAfterSeconds ?? 0) * 1000 : 0;
      await clock.sleep(Math.min(Math.max(retryAfterMs, 1000 * 2 ** attempt), 60_000));
    }
  };

  try {
    const list = await get(
      `/api/now/table/${table}?sysparm_limit=${options.limit ?? 100}&sysparm_fields=sys_id`,
      listSchema,
    );
    if (list.kind !== 'ok') throw new Error(`could not list ${table}: ${describeOutcome(list)}`);
    const ids = list.value.result.map((row) => row.sys_id);

    let synced = 0;
    const failed: { sysId: string; reason: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const sysId = ids[next++] as string;
        const record = await get(`/api/now/table/${table}/${encodeURIComponent(sysId)}`, recordSchema);
        if (record.kind !== 'ok') {
          failed.push({ sysId, reason: describeOutcome(record) });
          continue;
        }
        await options.onRecord?.(record.value.result);
        synced++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    return { listed: ids.length, synced, failed };
  } finally {
    if (!options.dispatcher) await dispatcher.close();
  }
}

function requiredEnv(name: string, example: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}, e.g. ${name}=${example}`);
  return value;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tokens = createTokenClient({
    instance: requiredEnv('SNOW_INSTANCE', 'acme'),
    secretId: requiredEnv('ACCESS_TOKEN_SECRET_ID', 'servicenow-token/acme/access-token'),
    refresherFunctionName: requiredEnv('REFRESHER_FUNCTION_NAME', 'servicenow-token-refresher'),
  });
  const result = await runSyncJob({ tokens });
  console.log(JSON.stringify(result));
  process.exitCode = result.failed.length > 0 ? 1 : 0;
}
