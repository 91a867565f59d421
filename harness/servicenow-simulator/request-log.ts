import { createHash } from 'node:crypto';
import { formParams, headerValue, type IncomingCall, queryRecord } from './incoming-call';
import type { LogFilter, LoggedRequest } from './types';

export function matchesLogFilter(entry: LoggedRequest, filter: LogFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'function') return filter(entry);
  return Object.entries(filter).every(([key, value]) => entry[key as keyof LoggedRequest] === value);
}

/** grant_type and client_id as the client sent them, wherever it put them, for the log only. */
function grantFields(call: IncomingCall): {
  grantType?: string;
  clientId?: string;
  refreshTokenFingerprint?: string;
} {
  let source: (name: string) => string | undefined = (name) => call.url.searchParams.get(name) ?? undefined;
  const form = formParams(call);
  if (form !== undefined) {
    source = (name) => form.get(name) ?? call.url.searchParams.get(name) ?? undefined;
  } else if (call.body.length > 0) {
    try {
      const parsed: unknown = JSON.parse(call.body.toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null) {
        const fields = parsed as Record<string, unknown>;
        source = (name) => (typeof fields[name] === 'string' ? fields[name] : undefined);
      }
    } catch {
      // Not JSON either: nothing to log.
    }
  }
  const grantType = source('grant_type');
  const clientId = source('client_id');
  const refreshToken = source('refresh_token');
  return {
    ...(grantType === undefined ? {} : { grantType }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(refreshToken === undefined ? {} : { refreshTokenFingerprint: tokenFingerprint(refreshToken) }),
  };
}

/** The same one-way tag the product records (state/instance-state.ts), so tests can match the two. */
function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

export interface LogOutcome {
  status: LoggedRequest['status'];
  result: string;
  detail?: string | undefined;
  username?: string | undefined;
  outcome?: string | undefined;
}

export function logEntry(instance: string, call: IncomingCall, outcome: LogOutcome): LoggedRequest {
  const contentType = headerValue(call.headers, 'content-type');
  return {
    at: call.now,
    instance,
    method: call.method,
    path: call.url.pathname,
    query: queryRecord(call.url),
    ...(contentType === undefined ? {} : { contentType }),
    ...grantFields(call),
    ...(outcome.username === undefined ? {} : { username: outcome.username }),
    status: outcome.status,
    result: outcome.result,
    ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
    ...(outcome.outcome === undefined ? {} : { outcome: outcome.outcome }),
  };
}
