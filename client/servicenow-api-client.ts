import { type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { classifyResponse } from '../lambda/shared/servicenow/classify-response';
import { parseInstanceUrl } from '../lambda/shared/servicenow/instance-url';
import type { Outcome } from '../lambda/shared/servicenow/outcome';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../lambda/shared/servicenow/servicenow-client';
import type { AccessToken, GetTokenOptions, TokenClient } from './token-client';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest<T> {
  /** @default 'GET' */
  readonly method?: ApiMethod;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** What a 2xx answer must look like; anything else is `malformed`. */
  readonly schema: z.ZodType<T>;
  /** Passed to `getToken()`: how long the token must stay valid. @default the token client's */
  readonly minValidityMs?: number;
}

/** The API answers of a sync job can be large pages; token answers are capped far lower. */
export const DEFAULT_API_LIMITS: HttpLimits = { ...DEFAULT_HTTP_LIMITS, maxResponseBytes: 16 * 1024 * 1024 };

export interface ServiceNowApiClientDeps {
  readonly tokens: Pick<TokenClient, 'getToken' | 'invalidate'>;
  /** One per process, e.g. `createServiceNowAgent()`: connections are kept alive. */
  readonly dispatcher: Dispatcher;
}

/**
 * Calls a ServiceNow REST API with a token from the token client. A 401 means the token was
 * revoked or lapsed early: the token is invalidated, a fresh one fetched, and the request sent
 * once more; a second 401 is returned as it is. Answers end in the same outcomes as the
 * refresher's ServiceNow client (`classifyResponse`); a token that cannot be had rejects with
 * the token client's `TokenClientError`.
 */
export class ServiceNowApiClient {
  private readonly limits: HttpLimits;

  constructor(
    private readonly deps: ServiceNowApiClientDeps,
    limits: Partial<HttpLimits> = {},
  ) {
    this.limits = { ...DEFAULT_API_LIMITS, ...limits };
  }

  async request<T>(path: string, options: ApiRequest<T>): Promise<Outcome<T>> {
    const tokenOptions: GetTokenOptions =
      options.minValidityMs === undefined ? {} : { minValidityMs: options.minValidityMs };
    const first = await this.deps.tokens.getToken(tokenOptions);
    const outcome = await this.send(first, path, options);
    if (outcome.kind !== 'unauthorized') return outcome;
    this.deps.tokens.invalidate(first.accessToken);
    const second = await this.deps.tokens.getToken(tokenOptions);
    const retried = await this.send(second, path, options);
    // Not retried again; the next call starts from a fresh read.
    if (retried.kind === 'unauthorized') this.deps.tokens.invalidate(second.accessToken);
    return retried;
  }

  get<T>(path: string, schema: z.ZodType<T>): Promise<Outcome<T>> {
    return this.request(path, { schema });
  }

  private async send<T>(token: AccessToken, path: string, options: ApiRequest<T>): Promise<Outcome<T>> {
    const origin = parseInstanceUrl(token.instanceUrl);
    const url = new URL(path, origin);
    if (url.origin !== origin.origin || !path.startsWith('/')) {
      throw new Error(
        `path "${path}" leaves the instance ${origin.origin}; use a path such as /api/now/table/incident`,
      );
    }
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error('overall timeout')),
      this.limits.overallTimeoutMs,
    );
    try {
      const response = await request(url, {
        method: options.method ?? 'GET',
        headers: {
          'user-agent': 'servicenow-token-refresher/client',
          accept: 'application/json',
          authorization: `Bearer ${token.accessToken}`,
          ...(options.body !== undefined && { 'content-type': 'application/json' }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        dispatcher: this.deps.dispatcher,
        signal: controller.signal,
      });
      const body = await readAtMost(response.body, this.limits.maxResponseBytes);
      return classifyResponse(
        {
          status: response.statusCode,
          headers: response.headers,
          body,
          maxBytes: this.limits.maxResponseBytes,
        },
        'api',
        options.schema,
      );
    } catch (error) {
      return failureOutcome(error, controller.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The body as text, or undefined (and the connection dropped) once it passes `maxBytes`. The same
 * as the refresher's private reader; to be shared once servicenow-client.ts exports its sender.
 */
async function readAtMost(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
): Promise<string | undefined> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of body) {
    total += (part as Buffer).length;
    if (total > maxBytes) {
      body.destroy();
      return undefined;
    }
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

const TIMEOUT_PHASES: Record<string, 'connect' | 'headers' | 'body'> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'headers',
  UND_ERR_BODY_TIMEOUT: 'body',
};

function failureOutcome(error: unknown, aborted: boolean): Outcome<never> {
  if (aborted) return { kind: 'timeout', phase: 'overall' };
  const e = error as { code?: unknown; cause?: { code?: unknown }; name?: unknown; message?: unknown };
  const code =
    [e?.code, e?.cause?.code, e?.name].find((value): value is string => typeof value === 'string') ??
    'UNKNOWN';
  const phase = TIMEOUT_PHASES[code];
  if (phase) return { kind: 'timeout', phase };
  return { kind: 'network-error', code, detail: String(e?.message ?? error).slice(0, 200) };
}
