import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { type Clock, systemClock } from '../lambda/shared/clock';
import { parseInstanceUrl } from '../lambda/shared/servicenow/instance-url';
import type { Outcome } from '../lambda/shared/servicenow/outcome';
import {
  DEFAULT_HTTP_LIMITS,
  type HttpLimits,
  sendToInstance,
} from '../lambda/shared/servicenow/servicenow-client';
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
  /** @default systemClock */
  readonly clock?: Clock;
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
  private readonly clock: Clock;
  /**
   * Per instance origin: ServiceNow's last 429 (Retry-After or X-RateLimit-Reset). Until then the
   * same rate-limited outcome is returned without a request: one sooner cannot succeed and counts
   * against the integration user's hourly limit.
   */
  private readonly limited = new Map<string, Extract<Outcome<unknown>, { kind: 'rate-limited' }>>();

  constructor(
    private readonly deps: ServiceNowApiClientDeps,
    limits: Partial<HttpLimits> = {},
  ) {
    this.limits = { ...DEFAULT_API_LIMITS, ...limits };
    this.clock = deps.clock ?? systemClock;
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
    const limited = this.limited.get(origin.origin);
    if (limited?.retryAt !== undefined && this.clock.now() < limited.retryAt) return limited;
    const outcome = await this.sendNow(origin, token, path, options);
    if (outcome.kind === 'rate-limited') this.limited.set(origin.origin, outcome);
    else this.limited.delete(origin.origin);
    return outcome;
  }

  private sendNow<T>(
    origin: URL,
    token: AccessToken,
    path: string,
    options: ApiRequest<T>,
  ): Promise<Outcome<T>> {
    return sendToInstance(
      {
        origin,
        path,
        method: options.method ?? 'GET',
        headers: {
          'user-agent': 'servicenow-token-refresher/client',
          accept: 'application/json',
          authorization: `Bearer ${token.accessToken}`,
          ...(options.body !== undefined && { 'content-type': 'application/json' }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        endpoint: 'api',
        schema: options.schema,
      },
      { dispatcher: this.deps.dispatcher, limits: this.limits, clock: this.clock },
    );
  }
}
