import type { Dispatcher } from 'undici';
import { type Clock, systemClock } from '../clock';
import * as z from '../zod';
import { classifyResponse, type Endpoint, type RawResponse } from './classify-response';
import { parseInstanceUrl } from './instance-url';
import type { Outcome } from './outcome';
import { redact, requestSecrets } from './redaction';
// undici's Agent and request from their own modules: its index also loads fetch, WebSocket, the
// cache and mock layers, which doubled the functions' cold load (see docs/benchmarks.md).
import { Agent, request as undiciRequest } from './undici-parts';

export const DEFAULT_PROBE_PATH = '/api/now/table/sys_user?sysparm_limit=1&sysparm_fields=sys_id';

export interface HttpLimits {
  /** Default 5 000 ms. */
  readonly connectTimeoutMs: number;
  /** Time to the response headers. Default 10 000 ms. */
  readonly headersTimeoutMs: number;
  /** Longest silence while the body streams. Default 10 000 ms. */
  readonly bodyTimeoutMs: number;
  /** The whole request, end to end. Default 20 000 ms. */
  readonly overallTimeoutMs: number;
  /** Larger answers are refused unread. Default 64 KiB: a token answer is under 1 KiB. */
  readonly maxResponseBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  overallTimeoutMs: 20_000,
  maxResponseBytes: 64 * 1024,
};

/** One per execution environment: connections are kept alive across invocations. */
export function createServiceNowAgent(limits: Partial<HttpLimits> = {}): Agent {
  const l = { ...DEFAULT_HTTP_LIMITS, ...limits };
  return new Agent({
    connectTimeout: l.connectTimeoutMs,
    headersTimeout: l.headersTimeoutMs,
    bodyTimeout: l.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
    connections: 16,
  });
}

export type TokenGrant =
  | {
      readonly grantType: 'password';
      readonly clientId: string;
      readonly clientSecret: string;
      readonly username: string;
      readonly password: string;
    }
  | {
      readonly grantType: 'refresh_token';
      readonly clientId: string;
      readonly clientSecret: string;
      readonly refreshToken: string;
    }
  | { readonly grantType: 'client_credentials'; readonly clientId: string; readonly clientSecret: string }
  | {
      readonly grantType: 'jwt-bearer';
      readonly clientId: string;
      readonly clientSecret: string;
      /** A signed JWT (see jwt-assertion.ts). */
      readonly assertion: string;
    };

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const tokenResponseSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  refresh_token: z.optional(z.string().check(z.minLength(1))),
  token_type: z.string().check(z.regex(/^bearer$/i)),
  expires_in: z.pipe(
    z.union([z.number(), z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number))]),
    z.number().check(z.int(), z.minimum(0)),
  ),
  scope: z.optional(z.string()),
});

export interface TokenGrantResult {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly tokenType: 'Bearer';
  readonly expiresInSeconds: number;
  /** When the request left (clock ms). Expiry is counted from here, so it is never later than ServiceNow's. */
  readonly sentAt: number;
}

const probeResponseSchema = z.object({ result: z.array(z.unknown()) });

export interface ProbeResult {
  readonly latencyMs: number;
  readonly rows: number;
}

function grantForm(grant: TokenGrant): URLSearchParams {
  const form = new URLSearchParams();
  form.set('grant_type', grant.grantType === 'jwt-bearer' ? JWT_BEARER_GRANT_TYPE : grant.grantType);
  form.set('client_id', grant.clientId);
  form.set('client_secret', grant.clientSecret);
  switch (grant.grantType) {
    case 'password':
      form.set('username', grant.username);
      form.set('password', grant.password);
      break;
    case 'refresh_token':
      form.set('refresh_token', grant.refreshToken);
      break;
    case 'jwt-bearer':
      form.set('assertion', grant.assertion);
      break;
    case 'client_credentials':
      break;
  }
  return form;
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown }; name?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.name === 'string' ? e.name : 'UNKNOWN';
}

/**
 * Talks to one ServiceNow instance: token grants and the probe. Never follows redirects (a bearer
 * token must not reach another host), caps response size, and classifies every answer.
 */
export class ServiceNowClient {
  readonly origin: URL;
  private readonly limits: HttpLimits;

  constructor(
    instanceUrl: string,
    private readonly deps: { readonly dispatcher: Dispatcher; readonly clock: Clock },
    limits: Partial<HttpLimits> = {},
  ) {
    this.origin = parseInstanceUrl(instanceUrl);
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...limits };
  }

  async requestToken(grant: TokenGrant): Promise<Outcome<TokenGrantResult>> {
    const sentAt = this.deps.clock.now();
    const outcome = await this.send({
      path: '/oauth_token.do',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: grantForm(grant).toString(),
      endpoint: 'token',
      schema: tokenResponseSchema,
    });
    if (outcome.kind !== 'ok') return outcome;
    const v = outcome.value;
    return {
      kind: 'ok',
      status: outcome.status,
      value: {
        accessToken: v.access_token,
        refreshToken: v.refresh_token,
        tokenType: 'Bearer',
        expiresInSeconds: v.expires_in,
        sentAt,
      },
    };
  }

  async probe(accessToken: string, path: string = DEFAULT_PROBE_PATH): Promise<Outcome<ProbeResult>> {
    const started = performance.now();
    const outcome = await this.send({
      path,
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      endpoint: 'api',
      schema: probeResponseSchema,
    });
    if (outcome.kind !== 'ok') return outcome;
    return {
      kind: 'ok',
      status: outcome.status,
      value: { latencyMs: Math.round(performance.now() - started), rows: outcome.value.result.length },
    };
  }

  private send<T>(request: Omit<InstanceRequest<T>, 'origin'>): Promise<Outcome<T>> {
    return sendToInstance(
      { origin: this.origin, ...request },
      { dispatcher: this.deps.dispatcher, limits: this.limits, clock: this.deps.clock },
    );
  }
}

/** One request to an instance. */
export interface InstanceRequest<T> {
  readonly origin: URL;
  /** Must stay on `origin`, e.g. /api/now/table/incident. */
  readonly path: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** Which kind of endpoint answers: its answers are classified by its rules. */
  readonly endpoint: Endpoint;
  /** What a 2xx answer must look like; anything else is `malformed`. */
  readonly schema: z.core.$ZodType<T>;
}

/** How requests reach instances: one agent per execution environment, its limits and clock. */
export interface InstanceTransport {
  readonly dispatcher: Dispatcher;
  readonly limits: HttpLimits;
  /** Stamps each answer's arrival (Retry-After is relative to it). @default the system clock */
  readonly clock?: Clock;
}

/**
 * One request to an instance, ending in an outcome: the path must stay on the instance's origin,
 * redirects are not followed, the answer is size-capped and classified, and every timeout and
 * network error is mapped. Shared by the refresher's client and the sync jobs' API client.
 */
export async function sendToInstance<T>(
  request: InstanceRequest<T>,
  { dispatcher, limits, clock = systemClock }: InstanceTransport,
): Promise<Outcome<T>> {
  const { origin, path, endpoint, schema } = request;
  const url = new URL(path, origin);
  if (url.origin !== origin.origin || !path.startsWith('/')) {
    throw new Error(`path "${path}" leaves the instance ${origin.origin}; use a path such as /api/now/...`);
  }
  const secrets = requestSecrets(request);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('overall timeout')), limits.overallTimeoutMs);
  try {
    const response = await undiciRequest(dispatcher, {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method as 'GET',
      headers: { 'user-agent': 'servicenow-token-refresher', ...request.headers },
      body: request.body,
      signal: controller.signal,
    });
    const body = await readCapped(response.body, limits.maxResponseBytes);
    const raw: RawResponse = {
      status: response.statusCode,
      headers: response.headers,
      body,
      maxBytes: limits.maxResponseBytes,
      receivedAt: clock.now(),
    };
    return classifyResponse(raw, endpoint, schema, secrets);
  } catch (error) {
    if (controller.signal.aborted) return { kind: 'timeout', phase: 'overall' };
    const code = errorCode(error);
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'timeout', phase: 'connect' };
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return { kind: 'timeout', phase: 'headers' };
    if (code === 'UND_ERR_BODY_TIMEOUT') return { kind: 'timeout', phase: 'body' };
    const message = error instanceof Error ? error.message : String(error);
    return {
      kind: 'network-error',
      code: redact(code, secrets),
      detail: redact(message, secrets).slice(0, 200),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** One client per instance over a shared agent: what every execution environment holds. */
export function serviceNowClients(dispatcher: Dispatcher, clock: Clock, limits: Partial<HttpLimits> = {}) {
  const clients = new Map<string, ServiceNowClient>();
  return (instance: { readonly name: string; readonly url: string }): ServiceNowClient => {
    let client = clients.get(instance.name);
    if (!client) {
      client = new ServiceNowClient(instance.url, { dispatcher, clock }, limits);
      clients.set(instance.name, client);
    }
    return client;
  };
}

/** Reads at most `maxBytes`; past that, stops reading, drops the connection and returns undefined. */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBytes) {
      body.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
