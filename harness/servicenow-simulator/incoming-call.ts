import type { IncomingHttpHeaders } from 'node:http';

/** A request as the simulator's handlers see it: fully read, with the clock reading at processing time. */
export interface IncomingCall {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Simulator clock, ms. */
  readonly now: number;
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function isFormEncoded(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded';
}

/** The form body's parameters, or undefined when the body is not form-encoded. */
export function formParams(call: IncomingCall): URLSearchParams | undefined {
  if (!isFormEncoded(headerValue(call.headers, 'content-type'))) return undefined;
  return new URLSearchParams(call.body.toString('utf8'));
}

export function queryRecord(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = value;
  return query;
}
