import { headerValue, type IncomingCall } from './incoming-call';
import type { HourlyRateLimiter } from './rate-limiter';
import { errorEnvelope, notAuthenticated, type SimResponse } from './responses';
import { answerTableRequest, isTablePath } from './table-api';
import type { TokenStore } from './token-store';
import type { InstanceSettings, SimUser } from './types';

export const REST_API_PREFIX = '/api/';

/** Roles that pass the `snc_platform_rest_api_access` ACL (itil and admin contain it). */
const REST_API_ROLES = new Set(['snc_platform_rest_api_access', 'itil', 'admin']);

export interface RestApiDependencies {
  readonly instanceName: string;
  readonly settings: Readonly<InstanceSettings>;
  readonly tokens: TokenStore;
  readonly rateLimiter: HourlyRateLimiter;
  findUser(username: string): SimUser | undefined;
}

type Authentication = { ok: true; user: SimUser } | { ok: false; detail: string };

function authenticateBearer(call: IncomingCall, dependencies: RestApiDependencies): Authentication {
  const authorization = headerValue(call.headers, 'authorization');
  if (authorization === undefined) return { ok: false, detail: 'missing-bearer' };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer === undefined) return { ok: false, detail: 'malformed-authorization' };
  const token = dependencies.tokens.accessToken(bearer);
  if (token === undefined) return { ok: false, detail: 'unknown-access-token' };
  if (token.revoked) return { ok: false, detail: 'revoked-access-token' };
  if (call.now >= token.expiresAt) return { ok: false, detail: 'expired-access-token' };
  const user = dependencies.findUser(token.username);
  if (user === undefined) return { ok: false, detail: 'unknown-user' };
  if (!user.active) return { ok: false, detail: 'user-inactive' };
  if (user.locked) return { ok: false, detail: 'user-locked' };
  return { ok: true, user };
}

function acceptsJson(call: IncomingCall): boolean {
  return (headerValue(call.headers, 'accept') ?? '').toLowerCase().includes('application/json');
}

function withHeaders(response: SimResponse, headers: Record<string, string>): SimResponse {
  return { ...response, headers: { ...response.headers, ...headers } };
}

/** `/api/*`: Accept check, bearer authentication, per-user rate limit, REST ACL, then the Table API. */
export function answerRestApi(call: IncomingCall, dependencies: RestApiDependencies): SimResponse {
  const { settings } = dependencies;
  if (!acceptsJson(call)) {
    return errorEnvelope(
      400,
      'Requested response format is not supported',
      'Send the header Accept: application/json',
      'bad-accept',
    );
  }
  const authentication = authenticateBearer(call, dependencies);
  if (!authentication.ok) return notAuthenticated(authentication.detail);
  const { username, roles } = authentication.user;

  let rateLimitHeaders: Record<string, string> = {};
  if (settings.rateLimitPerHour !== null) {
    const decision = dependencies.rateLimiter.admit(username, settings.rateLimitPerHour, call.now);
    rateLimitHeaders = decision.headers;
    if (!decision.allowed) {
      const limited = errorEnvelope(
        429,
        'Rate limit exceeded',
        `User ${username} exceeded the limit of ${settings.rateLimitPerHour} requests per hour`,
        'rate-limited',
        rateLimitHeaders,
      );
      return { ...limited, username };
    }
  }

  let response: SimResponse;
  if (settings.restApiAclActive && !roles.some((role) => REST_API_ROLES.has(role))) {
    response = errorEnvelope(
      403,
      'User Not Authorized',
      'The user needs the role snc_platform_rest_api_access to use the REST API',
      'forbidden',
    );
  } else if (isTablePath(call.url.pathname)) {
    response = answerTableRequest(call, dependencies.instanceName, {
      sys_user: settings.tableRows,
      incident: settings.incidentRows,
    });
  } else {
    response = errorEnvelope(400, 'Requested URI does not represent any resource', null, 'unknown-resource');
  }
  return { ...withHeaders(response, rateLimitHeaders), username };
}
