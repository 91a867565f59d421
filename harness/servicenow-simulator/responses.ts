import { STATUS_CODES } from 'node:http';

/** A complete answer, decided before anything is written, so faults can delay, slice or replace it. */
export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
  /** Log tag (see LoggedRequest.result). */
  result: string;
  detail?: string;
  username?: string;
}

export const JSON_UTF8 = 'application/json;charset=UTF-8';

/** The token endpoint's answer to every failure, whatever the real reason. */
export const OPAQUE_ACCESS_DENIED_BODY = '{"error_description":"access_denied","error":"server_error"}';

export const NOT_AUTHENTICATED_BODY =
  '{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}';

export function jsonResponse(
  status: number,
  value: unknown,
  result: string,
  headers: Record<string, string> = {},
): SimResponse {
  return { status, headers: { 'Content-Type': JSON_UTF8, ...headers }, body: JSON.stringify(value), result };
}

/** `{"error":{"message","detail"},"status":"failure"}`, the REST API error envelope. */
export function errorEnvelope(
  status: number,
  message: string,
  detail: string | null,
  result: string,
  headers: Record<string, string> = {},
): SimResponse {
  return jsonResponse(status, { error: { message, detail }, status: 'failure' }, result, headers);
}

/** 405 from an endpoint that serves only the `allow`ed methods; `detail` says which to use instead. */
export function methodNotAllowed(detail: string, allow: string): SimResponse {
  return errorEnvelope(405, 'Method not Supported', detail, 'method-not-allowed', { Allow: allow });
}

/** The envelope an instance (or its load balancer) sends with a bare 5xx. */
export function statusEnvelope(status: number, result: string): SimResponse {
  return errorEnvelope(status, STATUS_CODES[status] ?? `HTTP ${status}`, null, result);
}

export function opaqueAccessDenied(reason: string, username?: string): SimResponse {
  return {
    status: 401,
    headers: { 'Content-Type': 'application/json' },
    body: OPAQUE_ACCESS_DENIED_BODY,
    result: `rejected:${reason}`,
    ...(username === undefined ? {} : { username }),
  };
}

export function notAuthenticated(detail: string): SimResponse {
  return {
    status: 401,
    headers: { 'Content-Type': JSON_UTF8 },
    body: NOT_AUTHENTICATED_BODY,
    result: 'unauthenticated',
    detail,
  };
}
