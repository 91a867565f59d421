import type { IncomingCall } from './incoming-call';
import { methodNotAllowed, type SimResponse } from './responses';
import type { TokenStore } from './token-store';

export const REVOKE_PATH = '/oauth_revoke_token.do';

/** `GET /oauth_revoke_token.do?token=...`: no authentication; marks the token expired; always 200. */
export function answerRevocation(call: IncomingCall, tokens: TokenStore): SimResponse {
  if (call.method !== 'GET') {
    return methodNotAllowed(`${call.method} is not supported on ${REVOKE_PATH}; use GET`, 'GET');
  }
  const kind = tokens.revoke(call.url.searchParams.get('token') ?? '');
  return {
    status: 200,
    headers: {},
    body: '',
    result: kind === undefined ? 'revoke-unknown-token' : `revoked:${kind}`,
  };
}
