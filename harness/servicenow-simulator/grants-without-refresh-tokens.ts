import { createPublicKey, createVerify, type KeyObject, X509Certificate } from 'node:crypto';
import {
  authenticateClient,
  type GrantContext,
  type GrantHandler,
  type GrantOutcome,
  issueOrEchoAccessToken,
  loginBlockedReason,
} from './grant-handlers';
import type { RegistryRecord } from './types';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * client_credentials (Washington DC and later): off until the property enables it and the registry
 * record names an OAuth Application User. No refresh token in the answer.
 */
export const clientCredentialsGrant: GrantHandler = (params, context) => {
  if (!context.settings.clientCredentialsEnabled) return { ok: false, reason: 'client-credentials-disabled' };
  const clientCheck = authenticateClient(params, context);
  if (!clientCheck.ok) return clientCheck;
  const { client } = clientCheck;
  if (!client.applicationUser) return { ok: false, reason: 'no-application-user' };
  return accessTokenFor(context, client, client.applicationUser, {
    issued: 'client-credentials-ok',
    echoed: 'client-credentials-echo-current',
  });
};

/**
 * How both grants end: the user they name must exist and may log in; then the current access token
 * or a new one, each logged with its own result tag, and no refresh token.
 */
function accessTokenFor(
  context: GrantContext,
  client: RegistryRecord,
  username: string,
  results: { readonly issued: string; readonly echoed: string },
): GrantOutcome {
  const user = context.findUser(username);
  if (user === undefined) return { ok: false, reason: 'unknown-user', username };
  const blocked = loginBlockedReason(user);
  if (blocked !== undefined) return { ok: false, reason: blocked, username: user.username };
  const issued = issueOrEchoAccessToken(context, client, user.username);
  return {
    ok: true,
    result: issued.echoed ? results.echoed : results.issued,
    username: user.username,
    body: issued.body,
  };
}

function publicKeyOf(pem: string): KeyObject {
  return pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * jwt-bearer: the assertion must be an RS256 JWT signed by the key whose certificate the registry
 * record holds, with aud = client_id, sub = an active user, an iss, and an exp still ahead of the
 * instance's clock. No refresh token in the answer.
 */
export const jwtBearerGrant: GrantHandler = (params, context) => {
  const clientCheck = authenticateClient(params, context);
  if (!clientCheck.ok) return clientCheck;
  const { client } = clientCheck;
  if (!client.jwtCertificatePem) return { ok: false, reason: 'no-jwt-verifier' };
  const [header, payload, signature, ...rest] = (params.get('assertion') ?? '').split('.');
  if (!header || !payload || !signature || rest.length) return { ok: false, reason: 'malformed-assertion' };
  const head = decodeJson(header);
  const claims = decodeJson(payload);
  if (head?.alg !== 'RS256' || !claims) return { ok: false, reason: 'malformed-assertion' };
  let verified = false;
  try {
    verified = createVerify('RSA-SHA256')
      .update(`${header}.${payload}`)
      .verify(publicKeyOf(client.jwtCertificatePem), Buffer.from(signature, 'base64url'));
  } catch {
    verified = false;
  }
  if (!verified) return { ok: false, reason: 'bad-signature' };
  if (claims.aud !== (client.jwtAudience ?? client.clientId)) return { ok: false, reason: 'wrong-audience' };
  if (typeof claims.iss !== 'string' || claims.iss === '') return { ok: false, reason: 'no-issuer' };
  const instanceNow = context.now + context.settings.clockSkewSeconds * 1000;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= instanceNow)
    return { ok: false, reason: 'expired-assertion' };
  const username = typeof claims.sub === 'string' ? claims.sub : '';
  return accessTokenFor(context, client, username, { issued: 'jwt-ok', echoed: 'jwt-echo-current' });
};
