import type { GrantHandler } from './grant-handlers';

/**
 * What a refresh_token grant returns while the client+user still holds a live access token. The docs say
 * "access requests made within the expiration time of the access token always return the current access
 * token"; whether expires_in then counts the remaining or a full lifespan is unknown, so both are offered,
 * plus 'new-token' for instances that simply issue a new token.
 */
export type EarlyRefreshMode = 'current-remaining' | 'current-full' | 'new-token';

/** How a hibernating or offline developer instance answers. */
export type HibernationMode = 'html-200' | 'redirect-302' | 'html-503' | 'offline-200' | 'offline-503';

/** An Application Registry record (`oauth_entity`). Mutable: tests change the secret or lifespans. */
export interface RegistryRecord {
  clientId: string;
  clientSecret: string;
  /** @default 1800 */
  accessTokenLifespanSeconds: number;
  /** @default 8_640_000 (100 days) */
  refreshTokenLifespanSeconds: number;
  /**
   * The "OAuth Application User" that client_credentials tokens act as. Unset: the grant is refused
   * even where the property enables it.
   */
  applicationUser?: string;
  /**
   * The certificate (or public key) PEM of the JWT verifier map: set, the jwt-bearer grant accepts
   * assertions signed by its private key.
   */
  jwtCertificatePem?: string;
  /** The audience the JWT provider expects. @default the client id */
  jwtAudience?: string;
}

/** A local `sys_user` account. Mutable: tests lock or deactivate it. */
export interface SimUser {
  username: string;
  password: string;
  /** @default true */
  active: boolean;
  /** @default false */
  locked: boolean;
  /** @default ['itil'] */
  roles: string[];
}

export type Fault =
  /** Delays the normal answer by `ms` of real time. The request is processed on arrival. */
  | { kind: 'latency'; ms: number }
  /**
   * Answers `status` instead of processing; the body defaults to the ServiceNow error envelope.
   * `headers` are added, e.g. `{ 'Retry-After': '120' }` on a 503 from a load balancer.
   */
  | {
      kind: 'status';
      status: number;
      body?: string;
      contentType?: string;
      headers?: Record<string, string>;
    }
  /**
   * A re-encoding proxy: the normal answer (the request is processed) with a UTF-8 byte order mark
   * before the body, and/or its Content-Type replaced (a string) or removed (null).
   */
  | { kind: 'reencode'; bom?: boolean; contentType?: string | null }
  /**
   * An API gateway in front of the instance answering an RFC 6749 §5.2 error instead of processing,
   * e.g. `400 {"error":"invalid_grant","error_description":"..."}`. Status defaults to 400.
   */
  | { kind: 'oauth-error'; error: string; status?: number; description?: string }
  /**
   * An error answer that quotes the request's own secrets (form values, bearer token) back, as
   * careless gateways and error pages do: in the envelope's `error.message`, an OAuth
   * `error_description`, an HTML page, or a response header. Status defaults to 400.
   */
  | {
      kind: 'echo-secrets';
      where: 'error.message' | 'error_description' | 'html' | 'header';
      status?: number;
    }
  /** Destroys the socket (TCP reset) without answering; the request is not processed. */
  | { kind: 'reset' }
  /** Sends the normal answer in chunks of `chunkBytes` (default 16) with `chunkDelayMs` between them. */
  | { kind: 'slow-body'; chunkDelayMs: number; chunkBytes?: number }
  /** Sends the normal answer's headers (full Content-Length) and half its body, then closes the socket. */
  | { kind: 'truncated-body' }
  /** Answers 200 with Content-Type application/json and a body that is not JSON. */
  | { kind: 'non-json' }
  /** Answers 200 with a valid JSON body of exactly `bytes` bytes (at least 2). */
  | { kind: 'huge-body'; bytes: number }
  /** Reads the request and never answers, until the simulator closes. */
  | { kind: 'hang' };

export interface FaultRule {
  fault: Fault;
  /** Prefix match on the request pathname. @default - every path */
  path?: string;
  /** How many matching requests the fault applies to; Infinity for a persistent fault. @default 1 */
  times?: number;
}

export interface LoggedRequest {
  /** Simulator clock, milliseconds since the epoch, when the request was processed. */
  at: number;
  instance: string;
  method: string;
  /** Pathname only. */
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** From the form body (or the query string when the body has none). */
  grantType?: string;
  clientId?: string;
  /** A refresh_token grant's token, as a one-way fingerprint (never the value): which token was spent. */
  refreshTokenFingerprint?: string;
  /** The user a grant or a bearer token resolved to, when known. */
  username?: string;
  status: number | 'reset' | 'hang';
  /**
   * Short tag of what happened, like the instance's system log: 'password-ok', 'refresh-ok',
   * 'refresh-echo-current', 'rejected:<reason>', 'table-ok', 'unauthenticated', 'forbidden',
   * 'rate-limited', 'queue-full', 'hibernating', 'fault:<kind>', ...
   */
  result: string;
  /** Extra reason where `result` is coarse, e.g. 'expired-access-token' for 'unauthenticated'. */
  detail?: string;
  /**
   * For faults that still deliver the processed answer (latency, slow-body, truncated-body): the
   * result tag of that answer, e.g. 'refresh-ok'.
   */
  outcome?: string;
}

/** Matches log entries by equality on the given fields, or by a predicate. */
export type LogFilter = Partial<Omit<LoggedRequest, 'query'>> | ((entry: LoggedRequest) => boolean);

export interface InstanceSettings {
  /** @default 'current-remaining' */
  earlyRefreshMode: EarlyRefreshMode;
  /**
   * false: the refresh grant echoes the same refresh token (what ServiceNow does).
   * true: it returns a new refresh token with a fresh lifespan and revokes the old one.
   * @default false
   */
  rotateRefreshTokens: boolean;
  /** `glide.oauth.inbound.ropc.grant_type.disabled`. @default false */
  passwordGrantDisabled: boolean;
  /** `glide.oauth.allow.parameters.in.post.body.only`: any query parameter on /oauth_token.do → 401. @default true */
  parametersInBodyOnly: boolean;
  /** The Table API needs role snc_platform_rest_api_access (itil and admin contain it), else 403. @default true */
  restApiAclActive: boolean;
  /** Requests per user per clock hour on /api/*; null means no rule and no X-RateLimit headers. @default null */
  rateLimitPerHour: number | null;
  /** Every request gets 429 with Retry-After, rule or not. @default false */
  queueFull: boolean;
  /** @default null - awake */
  hibernation: HibernationMode | null;
  /** Rows in sys_user. @default 3 */
  tableRows: number;
  /** `glide.oauth.inbound.client.credential.grant_type.enabled` (Washington DC and later). @default false */
  clientCredentialsEnabled: boolean;
  /** How far the instance's clock runs ahead of ours, for expired-assertion tests. @default 0 */
  clockSkewSeconds: number;
  /**
   * A rate-limit window on every path: until `until` (simulator clock, ms) each request gets
   * `status` (default 429) with the error envelope, `Retry-After` counting down (as delay-seconds,
   * an HTTP-date, or not at all) and the X-RateLimit-* headers. @default null - none
   */
  rateLimitWindow: RateLimitWindow | null;
  /**
   * Rows of the `incident` table. Their text mentions hibernation, offline and maintenance, as
   * ITSM records do: data, never an outage. @default 4
   */
  incidentRows: number;
}

export interface RateLimitWindow {
  until: number;
  /** @default 'seconds' */
  retryAfter?: 'seconds' | 'http-date' | 'none';
  /** @default 429 */
  status?: number;
  /** Send X-RateLimit-Limit, -Reset and -Rule. @default true */
  rateLimitHeaders?: boolean;
}

/** An issued token as the instance stores it (a snapshot; changing it changes nothing). */
export interface TokenRecord {
  readonly token: string;
  readonly clientId: string;
  readonly username: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revoked: boolean;
}

export interface SimInstance {
  readonly name: string;
  /** e.g. http://127.0.0.1:41234 (no trailing slash) */
  readonly url: string;
  /** Mutable at any time; the next request sees the change. */
  readonly settings: InstanceSettings;
  /** grant_type → handler. Adding a grant (client_credentials, jwt-bearer) is one `set`. */
  readonly grantHandlers: Map<string, GrantHandler>;
  addRegistry(record: Partial<RegistryRecord> & { clientId: string; clientSecret: string }): RegistryRecord;
  registry(clientId: string): RegistryRecord;
  addUser(user: Partial<SimUser> & { username: string; password: string }): SimUser;
  user(username: string): SimUser;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Same as GET /oauth_revoke_token.do?token=..., without a log entry. */
  revoke(token: string): void;
  /** Inspection for tests (never used by production code). */
  accessToken(token: string): TokenRecord | undefined;
  refreshToken(token: string): TokenRecord | undefined;
  isAccessTokenValid(token: string, at?: number): boolean;
  /** Every access and refresh token this instance has issued, revoked or not, e.g. to scan logs for leaks. */
  issuedTokens(): string[];
}
