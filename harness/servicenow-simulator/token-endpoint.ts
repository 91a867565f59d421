import type { GrantContext, GrantHandler } from './grant-handlers';
import { formParams, type IncomingCall } from './incoming-call';
import { JSON_UTF8, methodNotAllowed, opaqueAccessDenied, type SimResponse } from './responses';

export const TOKEN_PATH = '/oauth_token.do';

/**
 * `POST /oauth_token.do`. Every failure is the same opaque 401; the real reason only reaches the log,
 * as on a real instance. A new grant type is one more entry in `grantHandlers`.
 */
export function answerTokenRequest(
  call: IncomingCall,
  grantHandlers: ReadonlyMap<string, GrantHandler>,
  context: GrantContext,
): SimResponse {
  if (call.method !== 'POST') {
    return methodNotAllowed(`${call.method} is not supported on ${TOKEN_PATH}; use POST`, 'POST');
  }
  const hasQueryParameters = [...call.url.searchParams.keys()].length > 0;
  if (hasQueryParameters && context.settings.parametersInBodyOnly) {
    return opaqueAccessDenied('query-parameters');
  }
  const bodyParams = formParams(call);
  if (bodyParams === undefined) return opaqueAccessDenied('not-form-encoded');

  const params = new URLSearchParams(call.url.searchParams);
  for (const key of new Set(bodyParams.keys())) params.set(key, bodyParams.get(key) ?? '');

  const grantType = params.get('grant_type') ?? '';
  const handler = grantHandlers.get(grantType);
  if (handler === undefined) return opaqueAccessDenied('unsupported-grant-type');

  const outcome = handler(params, context);
  if (!outcome.ok) return opaqueAccessDenied(outcome.reason, outcome.username);
  return {
    status: 200,
    headers: { 'Content-Type': JSON_UTF8, 'Cache-Control': 'no-store', Pragma: 'no-cache' },
    body: JSON.stringify(outcome.body),
    result: outcome.result,
    ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
    username: outcome.username,
  };
}
