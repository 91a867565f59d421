import { randomBytes } from 'node:crypto';
import type { TokenRecord } from './types';

interface StoredToken {
  token: string;
  clientId: string;
  username: string;
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
}

/** Opaque and about as long as ServiceNow's own tokens (86 characters). */
function newTokenString(): string {
  return randomBytes(64).toString('base64url');
}

function isLive(stored: StoredToken, at: number): boolean {
  return !stored.revoked && at < stored.expiresAt;
}

function snapshot(stored: StoredToken | undefined): TokenRecord | undefined {
  return stored === undefined ? undefined : { ...stored };
}

/** The instance's `oauth_credential` table: every access and refresh token it has issued. */
export class TokenStore {
  private readonly accessTokens = new Map<string, StoredToken>();
  private readonly refreshTokens = new Map<string, StoredToken>();

  issueAccessToken(clientId: string, username: string, lifespanSeconds: number, now: number): TokenRecord {
    return this.issue(this.accessTokens, clientId, username, lifespanSeconds, now);
  }

  issueRefreshToken(clientId: string, username: string, lifespanSeconds: number, now: number): TokenRecord {
    return this.issue(this.refreshTokens, clientId, username, lifespanSeconds, now);
  }

  accessToken(token: string): TokenRecord | undefined {
    return snapshot(this.accessTokens.get(token));
  }

  refreshToken(token: string): TokenRecord | undefined {
    return snapshot(this.refreshTokens.get(token));
  }

  /** The most recently issued live access token of this client and user. */
  currentAccessToken(clientId: string, username: string, now: number): TokenRecord | undefined {
    return snapshot(this.latestLive(this.accessTokens, clientId, username, now));
  }

  /** The most recently issued live refresh token of this client and user. */
  liveRefreshToken(clientId: string, username: string, now: number): TokenRecord | undefined {
    return snapshot(this.latestLive(this.refreshTokens, clientId, username, now));
  }

  /** What a new password grant does to a live refresh token: same string, expiry pushed out. */
  renewRefreshToken(token: string, lifespanSeconds: number, now: number): TokenRecord {
    const stored = this.refreshTokens.get(token);
    if (stored === undefined) throw new Error(`Cannot renew refresh token: it was never issued.`);
    stored.expiresAt = now + lifespanSeconds * 1000;
    return { ...stored };
  }

  /** Every access and refresh token string ever issued, oldest first. */
  issuedTokens(): string[] {
    return [...this.accessTokens.values(), ...this.refreshTokens.values()]
      .sort((a, b) => a.issuedAt - b.issuedAt)
      .map((stored) => stored.token);
  }

  /** Marks an access or refresh token expired. Returns which kind it was, if any. */
  revoke(token: string): 'access-token' | 'refresh-token' | undefined {
    const access = this.accessTokens.get(token);
    if (access !== undefined) {
      access.revoked = true;
      return 'access-token';
    }
    const refresh = this.refreshTokens.get(token);
    if (refresh !== undefined) {
      refresh.revoked = true;
      return 'refresh-token';
    }
    return undefined;
  }

  private issue(
    into: Map<string, StoredToken>,
    clientId: string,
    username: string,
    lifespanSeconds: number,
    now: number,
  ): TokenRecord {
    const stored: StoredToken = {
      token: newTokenString(),
      clientId,
      username,
      issuedAt: now,
      expiresAt: now + lifespanSeconds * 1000,
      revoked: false,
    };
    into.set(stored.token, stored);
    return { ...stored };
  }

  private latestLive(
    from: Map<string, StoredToken>,
    clientId: string,
    username: string,
    now: number,
  ): StoredToken | undefined {
    let latest: StoredToken | undefined;
    for (const stored of from.values()) {
      if (stored.clientId === clientId && stored.username === username && isLive(stored, now)) {
        if (latest === undefined || stored.issuedAt >= latest.issuedAt) latest = stored;
      }
    }
    return latest;
  }
}
