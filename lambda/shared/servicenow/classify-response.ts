import { z } from 'zod';
import type { Outcome } from './outcome';

export type Endpoint = 'token' | 'api';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as read, or undefined when it exceeded the size cap. */
  readonly body: string | undefined;
  readonly maxBytes: number;
}

const errorEnvelope = z.object({
  error: z.object({ message: z.string().optional(), detail: z.unknown().optional() }),
});

function header(headers: RawResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function intHeader(headers: RawResponse['headers'], name: string): number | undefined {
  const value = header(headers, name);
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

function envelopeMessage(json: unknown, fallback: string): string {
  const parsed = errorEnvelope.safeParse(json);
  const message = parsed.success ? parsed.data.error.message : undefined;
  return (message ?? fallback).slice(0, 200);
}

/** Field paths and problem codes only: zod's messages could echo a value, and values may be secrets. */
export function describeSchemaError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.code}`)
    .join('; ');
}

function pageKind(text: string): 'hibernating' | 'offline' | undefined {
  if (/hibernat/i.test(text)) return 'hibernating';
  if (/currently offline/i.test(text)) return 'offline';
  return undefined;
}

/**
 * Turns whatever came back into one outcome. Order matters: redirects and rate limits are judged by
 * their headers, hibernation pages by their text whatever their status, and only then the JSON.
 */
export function classifyResponse<T>(
  response: RawResponse,
  endpoint: Endpoint,
  schema: z.ZodType<T>,
): Outcome<T> {
  const { status, headers, body } = response;

  if (status >= 300 && status < 400) {
    const location = header(headers, 'location') ?? '';
    let host = '(no location)';
    try {
      host = new URL(location, 'https://invalid.invalid').host;
    } catch {
      host = '(unparseable location)';
    }
    const reason = /hibernat|developer\.servicenow\.com/i.test(location) ? 'hibernating' : 'redirect';
    return {
      kind: 'unavailable',
      reason,
      status,
      detail: `redirected to ${host}; redirects are not followed`,
    };
  }

  if (status === 429) {
    const resetSeconds = intHeader(headers, 'x-ratelimit-reset');
    return {
      kind: 'rate-limited',
      status,
      retryAfterSeconds: intHeader(headers, 'retry-after'),
      limit: intHeader(headers, 'x-ratelimit-limit'),
      resetAt: resetSeconds === undefined ? undefined : resetSeconds * 1000,
      rule: header(headers, 'x-ratelimit-rule')?.slice(0, 100),
    };
  }

  if (body === undefined) {
    return { kind: 'malformed', status, detail: `response larger than ${response.maxBytes} bytes` };
  }

  const page = pageKind(body);
  if (page) {
    return {
      kind: 'unavailable',
      reason: page,
      status,
      detail: page === 'hibernating' ? 'instance is hibernating' : 'instance is currently offline',
    };
  }

  const contentType = header(headers, 'content-type') ?? '';
  const looksLikeHtml = /^\s*</.test(body);
  if (!/json/i.test(contentType) || looksLikeHtml) {
    if (status >= 500) {
      return {
        kind: 'unavailable',
        reason: 'server-error',
        status,
        detail: `non-JSON ${contentType || 'body'}`,
      };
    }
    return {
      kind: 'unavailable',
      reason: 'html',
      status,
      detail: `expected JSON, got ${contentType || 'no content type'}`,
    };
  }

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    if (status >= 500)
      return { kind: 'unavailable', reason: 'server-error', status, detail: 'invalid JSON body' };
    return { kind: 'malformed', status, detail: 'body is not valid JSON' };
  }

  if (status >= 200 && status < 300) {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      return { kind: 'malformed', status, detail: `unexpected JSON: ${describeSchemaError(parsed.error)}` };
    }
    return { kind: 'ok', value: parsed.data, status };
  }
  if (status === 401) {
    return endpoint === 'token'
      ? { kind: 'rejected', status }
      : { kind: 'unauthorized', status, message: envelopeMessage(json, 'User Not Authenticated') };
  }
  if (status === 403) return { kind: 'forbidden', status, message: envelopeMessage(json, 'Forbidden') };
  if (status >= 500) {
    return {
      kind: 'unavailable',
      reason: 'server-error',
      status,
      detail: envelopeMessage(json, 'server error'),
    };
  }
  return {
    kind: 'malformed',
    status,
    detail: `HTTP ${status}: ${envelopeMessage(json, 'unexpected status')}`,
  };
}
