import { createPrivateKey, createSign, randomUUID } from 'node:crypto';

/** Short-lived: a stolen assertion is worth little, and clock skew of a few minutes is tolerated. */
export const ASSERTION_LIFETIME_SECONDS = 300;

/**
 * Signs the JWT ServiceNow's jwt-bearer grant expects: RS256, aud = the OAuth client id, sub = the
 * user the tokens act as, iss = the client id, exp a few minutes ahead.
 */
export function signAssertion(options: {
  readonly clientId: string;
  readonly username: string;
  readonly privateKeyPem: string;
  readonly keyId?: string;
  readonly now: number;
}): string {
  const iat = Math.floor(options.now / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(options.keyId && { kid: options.keyId }) };
  const claims = {
    iss: options.clientId,
    sub: options.username,
    aud: options.clientId,
    iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
    jti: randomUUID(),
  };
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode(header)}.${encode(claims)}`;
  const signature = createSign('RSA-SHA256')
    .update(signingInput)
    .sign(createPrivateKey(options.privateKeyPem));
  return `${signingInput}.${signature.toString('base64url')}`;
}
