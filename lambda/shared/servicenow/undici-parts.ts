/**
 * The two parts of undici we use, loaded from their own modules rather than through its index
 * (which also loads fetch, WebSocket, EventSource, the cache and the mocks: about half of undici,
 * and much of a function's cold load). Same code as `import { Agent, request } from 'undici'`.
 */
import type * as undici from 'undici';
import requestModule from 'undici/lib/api/api-request.js';
import agentModule from 'undici/lib/dispatcher/agent.js';

export const Agent = agentModule as typeof undici.Agent;
export type Agent = undici.Agent;

const apiRequest: (
  this: undici.Dispatcher,
  options: undici.Dispatcher.RequestOptions,
) => Promise<undici.Dispatcher.ResponseData> = requestModule as never;

/** `dispatcher.request(options)`, for any dispatcher (an Agent from here or from undici itself, a MockAgent). */
export function request(
  dispatcher: undici.Dispatcher,
  options: undici.Dispatcher.RequestOptions,
): Promise<undici.Dispatcher.ResponseData> {
  return apiRequest.call(dispatcher, options);
}
