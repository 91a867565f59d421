import * as z from '../zod';
import { type OAuthErrorCode, type Outcome, REFUSED_GRANT_ERRORS } from './outcome';
import { redact } from './redaction';

export type Endpoint = 'token' | 'api';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as read, or undefined when it exceeded the size cap. */
  readonly body: string | undefined;
  readonly maxBytes: number;
  /** When the answer arrived (clock ms): Retry-After counts from here. @default Date.now() */
  readonly receivedAt?: number;
}

/**
 * ServiceNow's limits are per user per hour, so a longer wait is a proxy's mistake: it is cut to
 * an hour rather than locking the instance out for days.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The earliest next request, from Retry-After (delay-seconds or HTTP-date, RFC 9110 §10.2.3) or,
 * on a 429 without it, X-RateLimit-Reset (unix seconds). Undefined when neither says anything usable.
 */
function retryAt(headers: RawResponse['headers'], status: number, now: number): number | undefined {
  const value = header(headers, 'retry-after')?.trim();
  let at: number | undefined;
  if (value !== undefined && /^\d+$/.test(value)) at = now + Number.parseInt(value, 10) * 1000;
  else if (value !== undefined && /[a-z]/i.test(value) && Number.isFinite(Date.parse(value))) {
    at = Date.parse(value);
  }
  if (at === undefined && status === 429) {
    const reset = intHeader(headers, 'x-ratelimit-reset');
    if (reset !== undefined) at = reset * 1000;
  }
  if (at === undefined || !Number.isFinite(at) || at <= now) return undefined;
  return Math.min(at, now + MAX_RETRY_AFTER_MS);
}

const errorEnvelope = z.object({
  error: z.object({ message: z.optional(z.string()), detail: z.optional(z.unknown()) }),
});

function header(headers: RawResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function optional(value: string | undefined, scrub: Scrub): string | undefined {
  return value === undefined ? undefined : scrub(value);
}

function intHeader(headers: RawResponse['headers'], name: string): number | undefined {
  const value = header(headers, name);
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

type Scrub = (text: string) => string;

function envelopeMessage(json: unknown, fallback: string, scrub: Scrub): string {
  const parsed = errorEnvelope.safeParse(json);
  const message = parsed.success ? parsed.data.error.message : undefined;
  return message === undefined ? fallback : scrub(message).slice(0, 200);
}

const oauthErrorAnswer = z.object({
  error: z.enum(REFUSED_GRANT_ERRORS),
  error_description: z.optional(z.string()),
});

/** An RFC 6749 §5.2 answer refusing the grant, as gateways in front of ServiceNow send. */
function oauthError(
  json: unknown,
  scrub: Scrub,
): { readonly code: OAuthErrorCode; readonly description: string | undefined } | undefined {
  const parsed = oauthErrorAnswer.safeParse(json);
  if (!parsed.success) return undefined;
  const description = parsed.data.error_description;
  return {
    code: parsed.data.error,
    description: description === undefined ? undefined : scrub(description).slice(0, 200),
  };
}

/** Field paths and problem codes only: zod's messages could echo a value, and values may be secrets. */
export function describeSchemaError(error: z.core.$ZodError): string {
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

/** The media type alone, lower case: `application/json;charset=UTF-8` → `application/json`. */
function mediaType(headers: RawResponse['headers']): string {
  return (header(headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Labels that say nothing about the body (or no label at all): a re-encoding proxy leaves these,
 * so the body is sniffed. See docs/servicenow-behaviour.md, "What may stand between us".
 */
const GENERIC_MEDIA_TYPES = new Set(['', 'text/plain', 'application/octet-stream', 'binary/octet-stream']);

type Body =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'other'; readonly text: string };

/**
 * JSON when labelled JSON (or labelled nothing useful) and it parses; anything else, HTML above
 * all, is not data. A leading byte order mark is not part of the text (RFC 8259 §8.1 lets a parser
 * ignore it).
 */
function readBody(text: string, type: string): Body {
  const unmarked = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const labelledJson = /(^|[/+])json$/.test(type);
  if (!labelledJson && !GENERIC_MEDIA_TYPES.has(type)) return { kind: 'other', text: unmarked };
  try {
    return { kind: 'json', value: JSON.parse(unmarked) };
  } catch {
    return { kind: 'other', text: unmarked };
  }
}

/**
 * Turns whatever came back into one outcome, in the order a ServiceNow engineer reads an answer:
 * the status (redirects and rate limits by their headers), then the content type; a body that
 * parses as JSON is data, whatever words it holds (ITSM records mention hibernation and outages
 * every day); only an answer that is not JSON is looked at as a page (hibernating, offline,
 * a proxy's or an SSO login page). See docs/servicenow-behaviour.md.
 */
export function classifyResponse<T>(
  response: RawResponse,
  endpoint: Endpoint,
  schema: z.core.$ZodType<T>,
  /** The request's own secret values: never copied out of the answer, whatever form it quotes them in. */
  requestSecrets: readonly string[] = [],
): Outcome<T> {
  const outcome = classifyAnswer(response, endpoint, schema, requestSecrets);
  // A 503 may say when to come back (RFC 9110 §15.6.4), hibernating or not.
  if (outcome.kind === 'unavailable' && response.status === 503) {
    const at = retryAt(response.headers, 503, response.receivedAt ?? Date.now());
    if (at !== undefined) return { ...outcome, retryAt: at };
  }
  return outcome;
}

function classifyAnswer<T>(
  response: RawResponse,
  endpoint: Endpoint,
  schema: z.core.$ZodType<T>,
  requestSecrets: readonly string[],
): Outcome<T> {
  const { status, headers, body } = response;
  const scrub: Scrub = (text) => redact(text, requestSecrets);
  const now = response.receivedAt ?? Date.now();

  if (status >= 300 && status < 400) {
    const location = header(headers, 'location') ?? '';
    let host = '(no location)';
    try {
      host = scrub(new URL(location, 'https://invalid.invalid').host);
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
    const at = retryAt(headers, status, now);
    return {
      kind: 'rate-limited',
      status,
      retryAt: at,
      retryAfterSeconds:
        intHeader(headers, 'retry-after') ?? (at === undefined ? undefined : Math.ceil((at - now) / 1000)),
      limit: intHeader(headers, 'x-ratelimit-limit'),
      resetAt: resetSeconds === undefined ? undefined : resetSeconds * 1000,
      rule: optional(header(headers, 'x-ratelimit-rule'), scrub)?.slice(0, 100),
    };
  }

  if (body === undefined) {
    return { kind: 'malformed', status, detail: `response larger than ${response.maxBytes} bytes` };
  }

  const type = mediaType(headers);
  const read = readBody(body, type);
  if (read.kind === 'other') return classifyPage(read.text, type, status);
  const json = read.value;

  if (status >= 200 && status < 300) {
    const parsed = z.safeParse(schema, json);
    if (!parsed.success) {
      return {
        kind: 'malformed',
        status,
        detail: `unexpected JSON: ${scrub(describeSchemaError(parsed.error))}`,
      };
    }
    return { kind: 'ok', value: parsed.data, status };
  }
  if (endpoint === 'token' && (status === 400 || status === 401)) {
    const refusal = oauthError(json, scrub);
    if (refusal) {
      return {
        kind: 'rejected',
        status,
        oauthError: refusal.code,
        ...(refusal.description !== undefined && { description: refusal.description }),
      };
    }
  }
  if (status === 401) {
    // ServiceNow's own token-endpoint 401 is opaque: the same body whatever the cause.
    return endpoint === 'token'
      ? { kind: 'rejected', status }
      : { kind: 'unauthorized', status, message: envelopeMessage(json, 'User Not Authenticated', scrub) };
  }
  if (status === 403) {
    return { kind: 'forbidden', status, message: envelopeMessage(json, 'Forbidden', scrub) };
  }
  if (status >= 500) {
    return {
      kind: 'unavailable',
      reason: 'server-error',
      status,
      detail: envelopeMessage(json, 'server error', scrub),
    };
  }
  return {
    kind: 'malformed',
    status,
    detail: `HTTP ${status}: ${envelopeMessage(json, 'unexpected status', scrub)}`,
  };
}

/** An answer that is not JSON: a hibernation or offline page, another page, or broken JSON. */
function classifyPage<T>(text: string, type: string, status: number): Outcome<T> {
  const page = pageKind(text);
  if (page) {
    return {
      kind: 'unavailable',
      reason: page,
      status,
      detail: page === 'hibernating' ? 'instance is hibernating' : 'instance is currently offline',
    };
  }
  const labelledJson = /(^|[/+])json$/.test(type);
  if (status >= 500) {
    return {
      kind: 'unavailable',
      reason: 'server-error',
      status,
      detail: labelledJson ? 'invalid JSON body' : `non-JSON ${type || 'body'}`,
    };
  }
  // Labelled JSON but broken, and not a page: a cut or garbled answer, not an outage.
  if (labelledJson && !/^\s*</.test(text)) {
    return { kind: 'malformed', status, detail: 'body is not valid JSON' };
  }
  return {
    kind: 'unavailable',
    reason: 'html',
    status,
    detail: `expected JSON, got ${type || 'no content type'}`,
  };
}
