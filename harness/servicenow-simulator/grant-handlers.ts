import { clientCredentialsGrant, JWT_BEARER_GRANT, jwtBearerGrant } from './grants-without-refresh-tokens';
import type { TokenStore } from './token-store';
import type { InstanceSettings, RegistryRecord, SimUser } from './types';

/** The JSON body of a successful grant, fields in ServiceNow's order. */
export interface TokenResponseBody {
  access_token: string;
  /** Absent for client_credentials and jwt-bearer. */
  refresh_token?: string;
  scope: 'useraccount';
  token_type: 'Bearer';
  expires_in: number;
}

/** What a grant handler may see and change on the instance. */
export interface GrantContext {
  /** Simulator clock, ms. */
  readonly now: number;
  readonly settings: Readonly<InstanceSettings>;
  findClient(clientId: string): RegistryRecord | undefined;
  findUser(username: string): SimUser | undefined;
  readonly tokens: TokenStore;
}

export interface GrantSuccess {
  ok: true;
  /** Log tag, e.g. 'password-ok'. */
  result: string;
  detail?: string;
  username: string;
  body: TokenResponseBody;
}

export interface GrantRejection {
  ok: false;
  /** Logged as `rejected:<reason>`; the client only ever sees the opaque 401. */
  reason: string;
  username?: string;
}

export type GrantOutcome = GrantSuccess | GrantRejection;

/** Handles one grant_type. Parameters come from the form body. */
export type GrantHandler = (params: URLSearchParams, context: GrantContext) => GrantOutcome;

/** Seconds left, floored, minus one (as ServiceNow reports 1799 for 1800); never overstates validity. */
export function expiresInSeconds(expiresAt: number, now: number): number {
  return Math.max(0, Math.floor((expiresAt - now) / 1000) - 1);
}

/** A fresh token's expires_in: the lifespan minus one. */
export function freshExpiresIn(lifespanSeconds: number): number {
  return Math.max(0, lifespanSeconds - 1);
}

/** Checks client_id and client_secret against the Application Registry. */
export function authenticateClient(
  params: URLSearchParams,
  context: GrantContext,
): { ok: true; client: RegistryRecord } | GrantRejection {
  const client = context.findClient(params.get('client_id') ?? '');
  if (client === undefined) return { ok: false, reason: 'unknown-client' };
  if (params.get('client_secret') !== client.clientSecret) return { ok: false, reason: 'wrong-secret' };
  return { ok: true, client };
}

/** Why this account may not get tokens, if it may not. */
export function loginBlockedReason(user: SimUser): string | undefined {
  if (!user.active) return 'user-inactive';
  if (user.locked) return 'user-locked';
  return undefined;
}

export const passwordGrant: GrantHandler = (params, context) => {
  if (context.settings.passwordGrantDisabled) return { ok: false, reason: 'password-grant-disabled' };
  const clientCheck = authenticateClient(params, context);
  if (!clientCheck.ok) return clientCheck;
  const { client } = clientCheck;

  const username = params.get('username') ?? '';
  const user = context.findUser(username);
  if (user === undefined) return { ok: false, reason: 'unknown-user', username };
  if (params.get('password') !== user.password) return { ok: false, reason: 'wrong-password', username };
  const blocked = loginBlockedReason(user);
  if (blocked !== undefined) return { ok: false, reason: blocked, username };

  const { tokens, now } = context;
  // Only a new password grant renews the refresh token: same string, expiry pushed out.
  const live = tokens.liveRefreshToken(client.clientId, user.username, now);
  const refresh =
    live === undefined
      ? tokens.issueRefreshToken(client.clientId, user.username, client.refreshTokenLifespanSeconds, now)
      : tokens.renewRefreshToken(live.token, client.refreshTokenLifespanSeconds, now);
  const access = tokens.issueAccessToken(
    client.clientId,
    user.username,
    client.accessTokenLifespanSeconds,
    now,
  );
  return {
    ok: true,
    result: 'password-ok',
    ...(live === undefined ? {} : { detail: 'renewed-refresh-token' }),
    username: user.username,
    body: {
      access_token: access.token,
      refresh_token: refresh.token,
      scope: 'useraccount',
      token_type: 'Bearer',
      expires_in: freshExpiresIn(client.accessTokenLifespanSeconds),
    },
  };
};

export const refreshTokenGrant: GrantHandler = (params, context) => {
  const clientCheck = authenticateClient(params, context);
  if (!clientCheck.ok) return clientCheck;
  const { client } = clientCheck;
  const { tokens, now, settings } = context;

  const presented = tokens.refreshToken(params.get('refresh_token') ?? '');
  if (presented === undefined) return { ok: false, reason: 'unknown-refresh-token' };
  const username = presented.username;
  if (presented.clientId !== client.clientId) {
    return { ok: false, reason: 'refresh-token-of-other-client', username };
  }
  if (presented.revoked) return { ok: false, reason: 'revoked-refresh-token', username };
  if (now >= presented.expiresAt) return { ok: false, reason: 'expired-refresh-token', username };
  const user = context.findUser(username);
  if (user === undefined) return { ok: false, reason: 'unknown-user', username };
  const blocked = loginBlockedReason(user);
  if (blocked !== undefined) return { ok: false, reason: blocked, username };

  // The trap: the same refresh token comes back and its expiry is NOT extended.
  let refreshTokenOut = presented.token;
  if (settings.rotateRefreshTokens) {
    tokens.revoke(presented.token);
    refreshTokenOut = tokens.issueRefreshToken(
      client.clientId,
      username,
      client.refreshTokenLifespanSeconds,
      now,
    ).token;
  }

  const issued = issueOrEchoAccessToken(context, client, username);
  return {
    ok: true,
    result: issued.echoed ? 'refresh-echo-current' : 'refresh-ok',
    ...(issued.echoed
      ? { detail: settings.earlyRefreshMode }
      : settings.rotateRefreshTokens
        ? { detail: 'rotated-refresh-token' }
        : {}),
    username,
    // ServiceNow's field order: the refresh token right after the access token.
    body: {
      access_token: issued.body.access_token,
      refresh_token: refreshTokenOut,
      scope: issued.body.scope,
      token_type: issued.body.token_type,
      expires_in: issued.body.expires_in,
    },
  };
};

/**
 * "Access requests made within the expiration time of the access token always return the current
 * access token": shared by every grant that is not a password grant.
 */
export function issueOrEchoAccessToken(
  context: GrantContext,
  client: RegistryRecord,
  username: string,
): { echoed: boolean; body: TokenResponseBody } {
  const { tokens, now, settings } = context;
  const current = tokens.currentAccessToken(client.clientId, username, now);
  if (current !== undefined && settings.earlyRefreshMode !== 'new-token') {
    return {
      echoed: true,
      body: {
        access_token: current.token,
        scope: 'useraccount',
        token_type: 'Bearer',
        expires_in:
          settings.earlyRefreshMode === 'current-remaining'
            ? expiresInSeconds(current.expiresAt, now)
            : freshExpiresIn(client.accessTokenLifespanSeconds),
      },
    };
  }
  const access = tokens.issueAccessToken(client.clientId, username, client.accessTokenLifespanSeconds, now);
  return {
    echoed: false,
    body: {
      access_token: access.token,
      scope: 'useraccount',
      token_type: 'Bearer',
      expires_in: freshExpiresIn(client.accessTokenLifespanSeconds),
    },
  };
}

/** The grants every instance starts with. Unlisted grant types get the opaque 401. */
export function defaultGrantHandlers(): Map<string, GrantHandler> {
  return new Map<string, GrantHandler>([
    ['password', passwordGrant],
    ['refresh_token', refreshTokenGrant],
    ['client_credentials', clientCredentialsGrant],
    [JWT_BEARER_GRANT, jwtBearerGrant],
  ]);
}
