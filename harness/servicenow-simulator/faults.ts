import { headerValue, type IncomingCall } from './incoming-call';
import { errorEnvelope, JSON_UTF8, jsonResponse, type SimResponse, statusEnvelope } from './responses';
import type { Fault, FaultRule, RateLimitWindow } from './types';

interface ActiveRule {
  readonly fault: Fault;
  readonly path: string;
  remaining: number;
}

function validate(rule: FaultRule): void {
  const { fault } = rule;
  const times = rule.times ?? 1;
  if (!(times > 0)) throw new Error(`Fault rule times must be a positive number or Infinity, got ${times}.`);
  if (fault.kind === 'latency' && !(fault.ms >= 0)) {
    throw new Error(`Latency fault ms must be >= 0, got ${fault.ms}.`);
  }
  if (fault.kind === 'slow-body' && (!(fault.chunkDelayMs >= 0) || !((fault.chunkBytes ?? 16) >= 1))) {
    throw new Error(
      'Slow-body fault needs chunkDelayMs >= 0 and chunkBytes >= 1, e.g. { chunkDelayMs: 50 }.',
    );
  }
  if (fault.kind === 'huge-body' && !(Number.isInteger(fault.bytes) && fault.bytes >= 2)) {
    throw new Error(`Huge-body fault bytes must be an integer >= 2, got ${fault.bytes}.`);
  }
  if (
    fault.kind === 'status' &&
    !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)
  ) {
    throw new Error(`Status fault status must be an HTTP status 100-599, got ${fault.status}.`);
  }
  if (
    (fault.kind === 'oauth-error' || fault.kind === 'echo-secrets') &&
    fault.status !== undefined &&
    !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)
  ) {
    throw new Error(`${fault.kind} fault status must be an HTTP error status 400-599, got ${fault.status}.`);
  }
}

/** The injected faults of one instance, applied in the order added. */
export class FaultBook {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): void {
    validate(rule);
    this.rules.push({ fault: rule.fault, path: rule.path ?? '/', remaining: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule matching `pathname` with uses left, consumed once. */
  take(pathname: string): Fault | undefined {
    const rule = this.rules.find(
      (candidate) => candidate.remaining > 0 && pathname.startsWith(candidate.path),
    );
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules = this.rules.filter((candidate) => candidate !== rule);
    return rule.fault;
  }
}

/** A valid JSON document of exactly `bytes` bytes. */
export function hugeJsonBody(bytes: number): Buffer {
  const prefix = '{"padding":"';
  const suffix = '"}';
  if (bytes < prefix.length + suffix.length) return Buffer.from(`{}${' '.repeat(bytes - 2)}`);
  const body = Buffer.alloc(bytes, 'x');
  body.write(prefix, 0);
  body.write(suffix, bytes - suffix.length);
  return body;
}

/** The secret values a request carries: its form parameters' values and its bearer token. */
function requestSecrets(call: IncomingCall): string[] {
  const secrets: string[] = [];
  const form = new URLSearchParams(call.body.toString('utf8'));
  for (const name of ['client_secret', 'refresh_token', 'password', 'assertion', 'access_token']) {
    const value = form.get(name);
    if (value) secrets.push(value);
  }
  const bearer = /^Bearer\s+(\S+)/i.exec(headerValue(call.headers, 'authorization') ?? '')?.[1];
  if (bearer) secrets.push(bearer);
  return secrets;
}

function echoSecrets(
  fault: Extract<Fault, { kind: 'echo-secrets' }>,
  call: IncomingCall,
  result: string,
): SimResponse {
  const status = fault.status ?? 400;
  const quoted = requestSecrets(call).join(' ') || '(no secret in the request)';
  switch (fault.where) {
    case 'error.message':
      return errorEnvelope(status, `Invalid request ${quoted}`, `Rejected: ${quoted}`, result);
    case 'error_description':
      return jsonResponse(
        status,
        { error: 'invalid_request', error_description: `Bad value ${quoted}` },
        result,
      );
    case 'html':
      return {
        status,
        headers: { 'Content-Type': 'text/html;charset=UTF-8' },
        body: `<html><body><h1>Request rejected</h1><pre>${call.body.toString('utf8')} ${quoted}</pre></body></html>`,
        result,
      };
    case 'header':
      return errorEnvelope(status, 'Request rejected', null, result, {
        'X-Error-Detail': `rejected ${quoted}`,
        'X-RateLimit-Rule': quoted,
      });
  }
}

/** The answer of a fault that replaces the instance's own answer. */
export function replacementResponse(
  fault: Extract<Fault, { kind: 'status' | 'non-json' | 'huge-body' | 'oauth-error' | 'echo-secrets' }>,
  call: IncomingCall,
): SimResponse {
  const result = `fault:${fault.kind}`;
  switch (fault.kind) {
    case 'status': {
      const extra = fault.headers ?? {};
      if (fault.body === undefined) {
        const envelope = statusEnvelope(fault.status, result);
        return {
          ...envelope,
          headers: {
            ...(fault.contentType === undefined ? envelope.headers : { 'Content-Type': fault.contentType }),
            ...extra,
          },
        };
      }
      return {
        status: fault.status,
        headers: { 'Content-Type': fault.contentType ?? JSON_UTF8, ...extra },
        body: fault.body,
        result,
      };
    }
    case 'oauth-error':
      return jsonResponse(
        fault.status ?? 400,
        {
          error: fault.error,
          ...(fault.description !== undefined && { error_description: fault.description }),
        },
        result,
        { 'Cache-Control': 'no-store' },
      );
    case 'echo-secrets':
      return echoSecrets(fault, call, result);
    case 'non-json':
      return {
        status: 200,
        headers: { 'Content-Type': JSON_UTF8 },
        body: '<html><body>Service temporarily unavailable</body></html>',
        result,
      };
    case 'huge-body':
      return { status: 200, headers: { 'Content-Type': JSON_UTF8 }, body: hugeJsonBody(fault.bytes), result };
  }
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The normal answer as a re-encoding proxy passes it on: a BOM added, the content type changed or gone. */
export function reencoded(response: SimResponse, fault: Extract<Fault, { kind: 'reencode' }>): SimResponse {
  const body = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
  const headers = Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => name.toLowerCase() !== 'content-type'),
  );
  const contentType =
    fault.contentType === undefined ? headerOf(response.headers, 'content-type') : fault.contentType;
  return {
    ...response,
    headers:
      contentType === null || contentType === undefined
        ? headers
        : { ...headers, 'Content-Type': contentType },
    body: fault.bom ? Buffer.concat([UTF8_BOM, body]) : body,
  };
}

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

/** What every request gets while a rate-limit window is open. */
export function rateLimitWindowResponse(window: RateLimitWindow, now: number, ruleId: string): SimResponse {
  const seconds = Math.max(1, Math.ceil((window.until - now) / 1000));
  const headers: Record<string, string> = {};
  const retryAfter = window.retryAfter ?? 'seconds';
  if (retryAfter === 'seconds') headers['Retry-After'] = String(seconds);
  // An HTTP-date has whole seconds: round up, so it never names a second inside the window.
  if (retryAfter === 'http-date') {
    headers['Retry-After'] = new Date(Math.ceil(window.until / 1000) * 1000).toUTCString();
  }
  if (window.rateLimitHeaders ?? true) {
    headers['X-RateLimit-Limit'] = '100';
    headers['X-RateLimit-Reset'] = String(Math.ceil(window.until / 1000));
    headers['X-RateLimit-Rule'] = ruleId;
  }
  const status = window.status ?? 429;
  return status === 429
    ? errorEnvelope(
        429,
        'Rate limit exceeded',
        'Too many requests for this user in this hour',
        'rate-limited',
        headers,
      )
    : { ...statusEnvelope(status, 'rate-limited'), headers: { 'Content-Type': JSON_UTF8, ...headers } };
}
