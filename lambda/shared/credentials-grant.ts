import { ASSERTION_LIFETIME_SECONDS, signAssertion } from './jwt-assertion';
import { type CredentialsSecret, refreshTokenExpiresAt } from './secrets/credentials-secret';
import type { FailedOutcome } from './servicenow/outcome';
import type { TokenGrant } from './servicenow/servicenow-client';
import { fingerprint, type StatePatch } from './state/instance-state';
import { NO_PENDING_REFRESH_TOKEN } from './state/pending-refresh-token';

/** The grant that gets a new access token from these credentials. */
export function tokenGrantFor(credentials: CredentialsSecret, now: number): TokenGrant {
  const { clientId, clientSecret } = credentials;
  switch (credentials.grant) {
    case 'password':
      return { grantType: 'refresh_token', clientId, clientSecret, refreshToken: credentials.refreshToken };
    case 'client_credentials':
      return { grantType: 'client_credentials', clientId, clientSecret };
    case 'jwt_bearer':
      return {
        grantType: 'jwt-bearer',
        clientId,
        clientSecret,
        assertion: signAssertion({
          clientId,
          username: credentials.username,
          privateKeyPem: credentials.privateKeyPem,
          keyId: credentials.keyId,
          now,
        }),
      };
  }
}

/** The non-secret facts about the credentials that the state table mirrors for the other functions. */
export function credentialsMirror(credentials: CredentialsSecret): StatePatch {
  const none = {
    refreshTokenIssuedAt: null,
    refreshTokenLifespanSeconds: null,
    refreshTokenFingerprint: null,
    certificateExpiresAt: null,
    // The secret now holds the credentials being mirrored: a pending rotated token is stored or superseded.
    ...NO_PENDING_REFRESH_TOKEN,
  };
  switch (credentials.grant) {
    case 'password':
      return {
        ...none,
        grant: 'password',
        refreshTokenIssuedAt: Date.parse(credentials.refreshTokenIssuedAt),
        refreshTokenLifespanSeconds: credentials.refreshTokenLifespanSeconds,
        refreshTokenFingerprint: fingerprint(credentials.refreshToken),
      };
    case 'client_credentials':
      return { ...none, grant: 'client_credentials' };
    case 'jwt_bearer':
      return {
        ...none,
        grant: 'jwt_bearer',
        certificateExpiresAt: Date.parse(credentials.certificateExpiresAt),
      };
  }
}

export type Rejection = {
  readonly outcome: 'refresh-token-expired' | 'refresh-token-rejected' | 'grant-rejected';
  readonly detail: string;
};

/** What the gateway said, in its own words: "invalid_grant: Refresh token revoked". */
function saidByGateway(refusal: Extract<FailedOutcome, { kind: 'rejected' }>): string {
  return `${refusal.oauthError}${refusal.description ? `: ${refusal.description}` : ''}`;
}

/**
 * A refusal that names its reason (RFC 6749 §5.2, from a gateway in front of ServiceNow): its
 * words and command. undefined for ServiceNow's own opaque 401, explained from context instead.
 */
function explainOAuthError(
  credentials: CredentialsSecret,
  now: number,
  instance: string,
  refusal: Extract<FailedOutcome, { kind: 'rejected' }>,
): Rejection | undefined {
  const code = refusal.oauthError;
  if (code === undefined) return undefined;
  const said = `the token endpoint answered ${saidByGateway(refusal)} (RFC 6749)`;
  if (credentials.grant === 'password') {
    const expiresAt = refreshTokenExpiresAt(credentials) ?? now;
    switch (code) {
      case 'invalid_grant':
        return {
          outcome: now >= expiresAt ? 'refresh-token-expired' : 'refresh-token-rejected',
          detail: `${said}: the refresh token is invalid, expired or revoked. Run "snow-token renew ${instance}"`,
        };
      case 'invalid_client':
        return {
          outcome: 'refresh-token-rejected',
          detail: `${said}: the OAuth client id or secret is not accepted; if the client secret changed in the Application Registry, run "snow-token renew ${instance} --new-client"`,
        };
      case 'unauthorized_client':
      case 'unsupported_grant_type':
        return {
          outcome: 'refresh-token-rejected',
          detail: `${said}: this client may not use the refresh_token grant here; allow it on the Application Registry record (or the gateway in front of the instance), then run "snow-token renew ${instance}"`,
        };
    }
  }
  const grant = credentials.grant;
  return {
    outcome: 'grant-rejected',
    detail:
      code === 'invalid_client'
        ? `${said}: the OAuth client id or secret (or the key) is not accepted; store the new one with "snow-token bootstrap ${instance} --grant ${grant} --new-client"`
        : `${said}: the ${grant} grant is refused for this client; allow it on the Application Registry record (or the gateway), then check with "snow-token doctor ${instance}"`,
  };
}

/**
 * ServiceNow's token endpoint answers every failure with the same 401; what it most likely means,
 * and what to do, depends on the grant and on what we recorded. A gateway's RFC 6749 error names
 * its reason, and is explained by it.
 */
export function explainRejection(
  credentials: CredentialsSecret,
  now: number,
  instance: string,
  refusal?: Extract<FailedOutcome, { kind: 'rejected' }>,
): Rejection {
  const named = refusal && explainOAuthError(credentials, now, instance, refusal);
  if (named) return named;
  switch (credentials.grant) {
    case 'password': {
      const expiresAt = refreshTokenExpiresAt(credentials) ?? now;
      if (now >= expiresAt) {
        return {
          outcome: 'refresh-token-expired',
          detail: `the refresh token expired on ${new Date(expiresAt).toISOString()}: run "snow-token renew ${instance}"`,
        };
      }
      return {
        outcome: 'refresh-token-rejected',
        detail: `ServiceNow refused a refresh token that should be valid until ${new Date(expiresAt).toISOString()}: it was revoked, or the client secret changed. Run "snow-token renew ${instance}"`,
      };
    }
    case 'client_credentials':
      return {
        outcome: 'grant-rejected',
        detail:
          'ServiceNow refused the client credentials grant: the client secret changed, the grant is switched off (glide.oauth.inbound.client.credential.grant_type.enabled), or the registry record has no OAuth Application User (or that user is locked or inactive)',
      };
    case 'jwt_bearer':
      return {
        outcome: 'grant-rejected',
        detail: `ServiceNow refused the JWT bearer grant: the certificate is not (or no longer) in the registry's JWT verifier map, the key changed, the JWT provider expects another audience (ours is the client id), the client secret changed, the user ${credentials.username} is locked or inactive, or the instance's clock is far from ours (assertions live ${ASSERTION_LIFETIME_SECONDS / 60} minutes)`,
      };
  }
}
