import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type EarlyRefreshMode,
  type GrantHandler,
  type HibernationMode,
  type InstanceSettings,
  NOT_AUTHENTICATED_BODY,
  OPAQUE_ACCESS_DENIED_BODY,
  ServiceNowSimulator,
  type SimInstance,
} from '../../harness/servicenow-simulator';
import { VirtualClock } from '../../harness/virtual-clock';

const SECOND_MS = 1000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const CLIENT = { clientId: 'refresher-client', clientSecret: 'client-secret-1' };
const USER = { username: 'integration.user', password: 'user-password-1' };
const FORM = 'application/x-www-form-urlencoded';
const PROBE_QUERY = 'sysparm_limit=1&sysparm_fields=sys_id';

let clock: VirtualClock;
let sim: ServiceNowSimulator;
let dispatcher: Agent;

beforeEach(() => {
  clock = new VirtualClock();
  sim = new ServiceNowSimulator({ clock });
  dispatcher = new Agent({ keepAliveTimeout: 100 });
});

afterEach(async () => {
  await sim.close();
  await dispatcher.destroy();
});

interface SendOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  /** Client-side deadline; undici's own headers/body timeouts tick too coarsely for sub-second tests. */
  signal?: AbortSignal;
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface TokenBody {
  access_token: string;
  refresh_token?: string;
  scope: string;
  token_type: string;
  expires_in: number;
}

function open(url: string, options: SendOptions = {}) {
  return request(url, {
    dispatcher,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

async function send(url: string, options: SendOptions = {}): Promise<HttpAnswer> {
  const response = await open(url, options);
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function header(answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

async function startInstance(settings: Partial<InstanceSettings> = {}, name = 'dev1'): Promise<SimInstance> {
  const instance = await sim.addInstance(name, settings);
  instance.addRegistry(CLIENT);
  instance.addUser(USER);
  return instance;
}

function passwordFields(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'password',
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
    username: USER.username,
    password: USER.password,
    ...overrides,
  };
}

function refreshFields(refreshToken: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'refresh_token',
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
    refresh_token: refreshToken,
    ...overrides,
  };
}

function postToken(
  instance: SimInstance,
  fields: Record<string, string>,
  options: SendOptions = {},
): Promise<HttpAnswer> {
  return send(`${instance.url}/oauth_token.do`, {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: new URLSearchParams(fields).toString(),
    ...options,
  });
}

async function grantPassword(
  instance: SimInstance,
  overrides: Record<string, string> = {},
): Promise<TokenBody> {
  const answer = await postToken(instance, passwordFields(overrides));
  expect(answer.status).toBe(200);
  return JSON.parse(answer.text) as TokenBody;
}

async function grantRefresh(instance: SimInstance, refreshToken: string): Promise<TokenBody> {
  const answer = await postToken(instance, refreshFields(refreshToken));
  expect(answer.status).toBe(200);
  return JSON.parse(answer.text) as TokenBody;
}

/** An instance with `settings` and a password grant on it; then a refresh grant `laterMs` after it. */
async function refreshAfter(laterMs: number, settings: Partial<InstanceSettings> = {}) {
  const instance = await startInstance(settings);
  const first = await grantPassword(instance);
  const firstExpiresAt = instance.accessToken(first.access_token)?.expiresAt;
  clock.advance(laterMs);
  const refreshed = await grantRefresh(instance, first.refresh_token ?? '');
  return { instance, first, firstExpiresAt, refreshed };
}

function probe(instance: SimInstance, accessToken?: string, options: SendOptions = {}): Promise<HttpAnswer> {
  return send(`${instance.url}/api/now/table/sys_user?${PROBE_QUERY}`, {
    ...options,
    headers: {
      accept: 'application/json',
      ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
      ...options.headers,
    },
  });
}

function lastLog() {
  const entry = sim.log.at(-1);
  if (entry === undefined) throw new Error('Expected the simulator to have logged a request.');
  return entry;
}

describe('token endpoint: request format', () => {
  it('answers a form-encoded password grant with access token, refresh token, scope, type and lifespan minus one', async () => {
    // Given
    const instance = await startInstance();
    // When
    const answer = await postToken(instance, passwordFields());
    // Then
    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toBe('application/json;charset=UTF-8');
    const body = JSON.parse(answer.text) as TokenBody;
    expect(Object.keys(body)).toEqual(['access_token', 'refresh_token', 'scope', 'token_type', 'expires_in']);
    expect(body).toMatchObject({ scope: 'useraccount', token_type: 'Bearer', expires_in: 1799 });
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(body.refresh_token).not.toBe(body.access_token);
    expect(lastLog().result).toBe('password-ok');
  });

  it('answers a refresh_token grant with the same response shape', async () => {
    // Given
    const instance = await startInstance();
    const first = await grantPassword(instance);
    clock.advance(1801 * SECOND_MS);
    // When
    const answer = await postToken(instance, refreshFields(first.refresh_token ?? ''));
    // Then
    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toBe('application/json;charset=UTF-8');
    const body = JSON.parse(answer.text) as TokenBody;
    expect(Object.keys(body)).toEqual(['access_token', 'refresh_token', 'scope', 'token_type', 'expires_in']);
    expect(body).toMatchObject({ scope: 'useraccount', token_type: 'Bearer', expires_in: 1799 });
  });

  it('reports expires_in as the registry lifespan minus one (7199 for 7200)', async () => {
    // Given
    const instance = await startInstance();
    instance.registry(CLIENT.clientId).accessTokenLifespanSeconds = 7200;
    // When
    const body = await grantPassword(instance);
    // Then
    expect(body.expires_in).toBe(7199);
    const record = instance.accessToken(body.access_token);
    expect((record?.expiresAt ?? 0) - (record?.issuedAt ?? 0)).toBe(7200 * SECOND_MS);
  });

  it('answers 405 with the error envelope to a GET on the token endpoint', async () => {
    // Given
    const instance = await startInstance();
    // When
    const answer = await send(`${instance.url}/oauth_token.do`);
    // Then
    expect(answer.status).toBe(405);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: { message: expect.any(String) },
      status: 'failure',
    });
    expect(lastLog().result).toBe('method-not-allowed');
  });

  it('accepts parameters in the query string when parametersInBodyOnly is off', async () => {
    // Given
    const instance = await startInstance({ parametersInBodyOnly: false });
    const query = new URLSearchParams(passwordFields()).toString();
    // When
    const answer = await send(`${instance.url}/oauth_token.do?${query}`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: '',
    });
    // Then
    expect(answer.status).toBe(200);
    expect(lastLog()).toMatchObject({ result: 'password-ok', grantType: 'password' });
  });

  it('serves a grant type added to grantHandlers, so a new grant is one handler', async () => {
    // Given
    const instance = await startInstance();
    const clientCredentials: GrantHandler = (params, context) => {
      const client = context.findClient(params.get('client_id') ?? '');
      if (client === undefined) return { ok: false, reason: 'unknown-client' };
      const access = context.tokens.issueAccessToken(client.clientId, 'oauth.app.user', 1800, context.now);
      return {
        ok: true,
        result: 'client-credentials-ok',
        username: 'oauth.app.user',
        body: { access_token: access.token, scope: 'useraccount', token_type: 'Bearer', expires_in: 1799 },
      };
    };
    instance.grantHandlers.set('client_credentials', clientCredentials);
    // When
    const answer = await postToken(instance, {
      grant_type: 'client_credentials',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
    });
    // Then
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).not.toHaveProperty('refresh_token');
    expect(lastLog().result).toBe('client-credentials-ok');
  });
});

describe('token endpoint: the opaque 401', () => {
  type Cause = { cause: string; tag: string; act: (instance: SimInstance) => Promise<HttpAnswer> };
  const causes: Cause[] = [
    {
      cause: 'an unknown client',
      tag: 'rejected:unknown-client',
      act: (instance) => postToken(instance, passwordFields({ client_id: 'nobody' })),
    },
    {
      cause: 'a wrong client secret',
      tag: 'rejected:wrong-secret',
      act: (instance) => postToken(instance, passwordFields({ client_secret: 'wrong' })),
    },
    {
      cause: 'an unknown user',
      tag: 'rejected:unknown-user',
      act: (instance) => postToken(instance, passwordFields({ username: 'nobody' })),
    },
    {
      cause: 'a wrong password',
      tag: 'rejected:wrong-password',
      act: (instance) => postToken(instance, passwordFields({ password: 'wrong' })),
    },
    {
      cause: 'a locked user',
      tag: 'rejected:user-locked',
      act: (instance) => {
        instance.user(USER.username).locked = true;
        return postToken(instance, passwordFields());
      },
    },
    {
      cause: 'an inactive user',
      tag: 'rejected:user-inactive',
      act: (instance) => {
        instance.user(USER.username).active = false;
        return postToken(instance, passwordFields());
      },
    },
    {
      cause: 'a disabled password grant',
      tag: 'rejected:password-grant-disabled',
      act: (instance) => {
        instance.settings.passwordGrantDisabled = true;
        return postToken(instance, passwordFields());
      },
    },
    {
      cause: 'an unknown refresh token',
      tag: 'rejected:unknown-refresh-token',
      act: (instance) => postToken(instance, refreshFields('never-issued')),
    },
    {
      cause: 'an expired refresh token',
      tag: 'rejected:expired-refresh-token',
      act: async (instance) => {
        const first = await grantPassword(instance);
        clock.advance(100 * DAY_MS);
        return postToken(instance, refreshFields(first.refresh_token ?? ''));
      },
    },
    {
      cause: 'a revoked refresh token',
      tag: 'rejected:revoked-refresh-token',
      act: async (instance) => {
        const first = await grantPassword(instance);
        instance.revoke(first.refresh_token ?? '');
        return postToken(instance, refreshFields(first.refresh_token ?? ''));
      },
    },
    {
      cause: "another client's refresh token",
      tag: 'rejected:refresh-token-of-other-client',
      act: async (instance) => {
        instance.addRegistry({ clientId: 'other-client', clientSecret: 'other-secret' });
        const other = await grantPassword(instance, {
          client_id: 'other-client',
          client_secret: 'other-secret',
        });
        return postToken(instance, refreshFields(other.refresh_token ?? ''));
      },
    },
    {
      cause: 'a client secret changed after the refresh token was issued',
      tag: 'rejected:wrong-secret',
      act: async (instance) => {
        const first = await grantPassword(instance);
        instance.registry(CLIENT.clientId).clientSecret = 'rotated-secret';
        return postToken(instance, refreshFields(first.refresh_token ?? ''));
      },
    },
    {
      cause: 'a refresh for a user locked since the password grant',
      tag: 'rejected:user-locked',
      act: async (instance) => {
        const first = await grantPassword(instance);
        instance.user(USER.username).locked = true;
        return postToken(instance, refreshFields(first.refresh_token ?? ''));
      },
    },
    {
      cause: 'an unsupported grant type',
      tag: 'rejected:unsupported-grant-type',
      act: (instance) => postToken(instance, passwordFields({ grant_type: 'authorization_code' })),
    },
    {
      cause: 'a JSON body',
      tag: 'rejected:not-form-encoded',
      act: (instance) =>
        send(`${instance.url}/oauth_token.do`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(passwordFields()),
        }),
    },
    {
      cause: 'parameters in the query string',
      tag: 'rejected:query-parameters',
      act: (instance) =>
        send(`${instance.url}/oauth_token.do?grant_type=password`, {
          method: 'POST',
          headers: { 'content-type': FORM },
          body: new URLSearchParams(passwordFields()).toString(),
        }),
    },
  ];

  it.each(causes)('answers $cause with the opaque 401 and logs $tag', async ({ act, tag }) => {
    // Given
    const instance = await startInstance();
    // When
    const answer = await act(instance);
    // Then
    expect(answer.status).toBe(401);
    expect(answer.text).toBe(OPAQUE_ACCESS_DENIED_BODY);
    expect(header(answer, 'content-type')).toBe('application/json');
    expect(lastLog()).toMatchObject({ status: 401, result: tag });
  });

  it('sends byte-identical bodies for different causes while the log tells them apart', async () => {
    // Given
    const instance = await startInstance();
    // When
    const answers = [
      await postToken(instance, passwordFields({ client_secret: 'wrong' })),
      await postToken(instance, passwordFields({ password: 'wrong' })),
      await postToken(instance, refreshFields('never-issued')),
    ];
    // Then
    expect(new Set(answers.map((answer) => answer.text))).toEqual(new Set([OPAQUE_ACCESS_DENIED_BODY]));
    expect(sim.log.map((entry) => entry.result)).toEqual([
      'rejected:wrong-secret',
      'rejected:wrong-password',
      'rejected:unknown-refresh-token',
    ]);
  });
});

describe('refresh token lifetime', () => {
  it('echoes the same refresh token on a refresh_token grant', async () => {
    // Given a password grant, When a refresh grant once its access token expired
    const { first, refreshed } = await refreshAfter(1801 * SECOND_MS);
    // Then
    expect(refreshed.refresh_token).toBe(first.refresh_token);
    expect(refreshed.access_token).not.toBe(first.access_token);
    expect(lastLog().result).toBe('refresh-ok');
  });

  it('still refreshes on day 99 but rejects as expired after day 100, because refreshes never extend it', async () => {
    // Given
    const instance = await startInstance();
    const first = await grantPassword(instance);
    const refreshToken = first.refresh_token ?? '';
    const expiresAt = instance.refreshToken(refreshToken)?.expiresAt;
    clock.advance(99 * DAY_MS);
    const day99 = await postToken(instance, refreshFields(refreshToken));
    // When
    clock.advance(DAY_MS + SECOND_MS);
    const day100 = await postToken(instance, refreshFields(refreshToken));
    // Then
    expect(day99.status).toBe(200);
    expect(instance.refreshToken(refreshToken)?.expiresAt).toBe(expiresAt);
    expect(day100.status).toBe(401);
    expect(lastLog().result).toBe('rejected:expired-refresh-token');
  });

  it('returns the same refresh token on a new password grant and pushes its expiry out', async () => {
    // Given
    const instance = await startInstance();
    const first = await grantPassword(instance);
    clock.advance(50 * DAY_MS);
    // When
    const second = await grantPassword(instance);
    // Then
    expect(second.refresh_token).toBe(first.refresh_token);
    expect(instance.refreshToken(second.refresh_token ?? '')?.expiresAt).toBe(lastLog().at + 100 * DAY_MS);
    clock.advance(60 * DAY_MS);
    expect((await postToken(instance, refreshFields(first.refresh_token ?? ''))).status).toBe(200);
  });

  it('issues a new refresh token on a password grant once the old one expired', async () => {
    // Given
    const instance = await startInstance();
    const first = await grantPassword(instance);
    clock.advance(100 * DAY_MS);
    // When
    const second = await grantPassword(instance);
    // Then
    expect(second.refresh_token).not.toBe(first.refresh_token);
  });

  it('returns a new refresh token with a fresh lifespan and revokes the old one when rotation is on', async () => {
    // Given a password grant, When a refresh grant 60 days later
    const { instance, first, refreshed } = await refreshAfter(60 * DAY_MS, { rotateRefreshTokens: true });
    // Then
    expect(refreshed.refresh_token).not.toBe(first.refresh_token);
    expect(instance.refreshToken(refreshed.refresh_token ?? '')?.expiresAt).toBe(lastLog().at + 100 * DAY_MS);
    expect((await postToken(instance, refreshFields(first.refresh_token ?? ''))).status).toBe(401);
    expect(lastLog().result).toBe('rejected:revoked-refresh-token');
  });
});

describe('early refresh while the access token is still live', () => {
  /** A password grant, then a refresh grant 600 s into its access token's 1800 s lifespan. */
  const refreshEarly = (mode: EarlyRefreshMode) => refreshAfter(600 * SECOND_MS, { earlyRefreshMode: mode });

  it("'current-remaining' returns the current access token with the remaining seconds minus one", async () => {
    // Given a password grant, When a refresh grant 600 s later
    const { first, firstExpiresAt = 0, refreshed: early } = await refreshEarly('current-remaining');
    // Then
    expect(early.access_token).toBe(first.access_token);
    expect(early.expires_in * SECOND_MS).toBeLessThan(firstExpiresAt - lastLog().at);
    expect(early.expires_in).toBeGreaterThanOrEqual(1190);
    expect(lastLog().result).toBe('refresh-echo-current');
  });

  it("'current-full' returns the current access token claiming a full lifespan without extending it", async () => {
    // Given a password grant, When a refresh grant 600 s later
    const { instance, first, firstExpiresAt, refreshed: early } = await refreshEarly('current-full');
    // Then
    expect(early.access_token).toBe(first.access_token);
    expect(early.expires_in).toBe(1799);
    expect(instance.accessToken(first.access_token)?.expiresAt).toBe(firstExpiresAt);
    expect(lastLog().result).toBe('refresh-echo-current');
  });

  it("'new-token' issues a new access token with a full lifespan", async () => {
    // Given a password grant, When a refresh grant 600 s later
    const { instance, first, refreshed: early } = await refreshEarly('new-token');
    // Then
    expect(early.access_token).not.toBe(first.access_token);
    expect(early.expires_in).toBe(1799);
    expect(instance.accessToken(early.access_token)?.expiresAt).toBe(lastLog().at + 1800 * SECOND_MS);
    expect(lastLog().result).toBe('refresh-ok');
  });

  it('issues a new access token once the current one has expired, whatever the mode', async () => {
    // Given a password grant, When a refresh grant as its access token expires
    const settings = { earlyRefreshMode: 'current-full' } as const;
    const { instance, first, refreshed: late } = await refreshAfter(1800 * SECOND_MS, settings);
    // Then
    expect(late.access_token).not.toBe(first.access_token);
    expect(late.expires_in).toBe(1799);
    expect(instance.isAccessTokenValid(late.access_token)).toBe(true);
  });
});

describe('revocation', () => {
  it('revokes an access token through GET without authentication, after which the Table API answers 401', async () => {
    // Given
    const instance = await startInstance();
    const tokens = await grantPassword(instance);
    // When
    const answer = await send(
      `${instance.url}/oauth_revoke_token.do?token=${encodeURIComponent(tokens.access_token)}`,
    );
    // Then
    expect(answer.status).toBe(200);
    expect(lastLog().result).toBe('revoked:access-token');
    expect(instance.isAccessTokenValid(tokens.access_token)).toBe(false);
    expect((await probe(instance, tokens.access_token)).status).toBe(401);
    expect(lastLog().detail).toBe('revoked-access-token');
  });

  it('revokes a refresh token through GET, after which the refresh grant is rejected', async () => {
    // Given
    const instance = await startInstance();
    const tokens = await grantPassword(instance);
    // When
    await send(
      `${instance.url}/oauth_revoke_token.do?token=${encodeURIComponent(tokens.refresh_token ?? '')}`,
    );
    // Then
    expect(instance.refreshToken(tokens.refresh_token ?? '')?.revoked).toBe(true);
    expect((await postToken(instance, refreshFields(tokens.refresh_token ?? ''))).status).toBe(401);
    expect(lastLog().result).toBe('rejected:revoked-refresh-token');
  });
});

describe('Table API', () => {
  it('answers 200 with sys_id rows honouring sysparm_limit and sysparm_fields', async () => {
    // Given
    const instance = await startInstance({ tableRows: 3 });
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await send(
      `${instance.url}/api/now/table/sys_user?sysparm_limit=2&sysparm_fields=sys_id`,
      {
        headers: { accept: 'application/json', authorization: `Bearer ${access_token}` },
      },
    );
    // Then
    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toMatch(/^application\/json/);
    const { result } = JSON.parse(answer.text) as { result: Record<string, string>[] };
    expect(result).toHaveLength(2);
    for (const row of result) {
      expect(Object.keys(row)).toEqual(['sys_id']);
      expect(row.sys_id).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(lastLog()).toMatchObject({ result: 'table-ok', username: USER.username });
  });

  it('answers an empty result when the table has no rows', async () => {
    // Given
    const instance = await startInstance({ tableRows: 0 });
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('{"result":[]}');
  });

  it('answers 400 with the error envelope without Accept: application/json', async () => {
    // Given
    const instance = await startInstance();
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await send(`${instance.url}/api/now/table/sys_user?${PROBE_QUERY}`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    // Then
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: { message: expect.any(String) },
      status: 'failure',
    });
  });

  it('answers 401 User Not Authenticated without a bearer token', async () => {
    // Given
    const instance = await startInstance();
    // When
    const answer = await probe(instance);
    // Then
    expect(answer.status).toBe(401);
    expect(answer.text).toBe(NOT_AUTHENTICATED_BODY);
    expect(lastLog()).toMatchObject({ result: 'unauthenticated', detail: 'missing-bearer' });
  });

  it('answers 401 to a malformed Authorization header', async () => {
    // Given
    const instance = await startInstance();
    // When
    const answer = await probe(instance, undefined, { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    // Then
    expect(answer.status).toBe(401);
    expect(answer.text).toBe(NOT_AUTHENTICATED_BODY);
  });

  it('answers 401 to an unknown bearer token', async () => {
    // Given
    const instance = await startInstance();
    // When
    const answer = await probe(instance, 'never-issued');
    // Then
    expect(answer.status).toBe(401);
    expect(lastLog().detail).toBe('unknown-access-token');
  });

  it('answers 401 once the access token has expired by the simulator clock', async () => {
    // Given
    const instance = await startInstance();
    const { access_token } = await grantPassword(instance);
    clock.advance(1800 * SECOND_MS);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(answer.status).toBe(401);
    expect(answer.text).toBe(NOT_AUTHENTICATED_BODY);
    expect(lastLog().detail).toBe('expired-access-token');
  });

  it('answers 403 to a user without itil or snc_platform_rest_api_access while the ACL is active', async () => {
    // Given
    const instance = await startInstance();
    instance.user(USER.username).roles = ['some_other_role'];
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: { message: expect.any(String) },
      status: 'failure',
    });
    expect(lastLog().result).toBe('forbidden');
  });

  it('answers 200 to a user holding only snc_platform_rest_api_access', async () => {
    // Given
    const instance = await startInstance();
    instance.user(USER.username).roles = ['snc_platform_rest_api_access'];
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(answer.status).toBe(200);
  });

  it('answers 200 to a user without roles when the REST API ACL is inactive', async () => {
    // Given
    const instance = await startInstance({ restApiAclActive: false });
    instance.user(USER.username).roles = [];
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(answer.status).toBe(200);
  });

  it('answers 400 Invalid table for an unknown table', async () => {
    // Given
    const instance = await startInstance();
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await send(`${instance.url}/api/now/table/no_such_table`, {
      headers: { accept: 'application/json', authorization: `Bearer ${access_token}` },
    });
    // Then
    expect(answer.status).toBe(400);
    expect(answer.text).toBe(
      '{"error":{"message":"Invalid table no_such_table","detail":null},"status":"failure"}',
    );
  });

  it('answers HEAD with the headers of a GET and no body', async () => {
    // Given
    const instance = await startInstance();
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await probe(instance, access_token, { method: 'HEAD' });
    // Then
    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toMatch(/^application\/json/);
    expect(Number(header(answer, 'content-length'))).toBeGreaterThan(0);
    expect(answer.text).toBe('');
  });
});

describe('rate limits', () => {
  it('sends X-RateLimit-Limit, -Reset (end of the hour) and -Rule, and no remaining count', async () => {
    // Given
    const instance = await startInstance({ rateLimitPerHour: 5 });
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(answer.status).toBe(200);
    const endOfHour = (Math.floor(lastLog().at / HOUR_MS) + 1) * HOUR_MS;
    expect(header(answer, 'x-ratelimit-limit')).toBe('5');
    expect(header(answer, 'x-ratelimit-reset')).toBe(String(endOfHour / SECOND_MS));
    expect(header(answer, 'x-ratelimit-rule')).toMatch(/\S/);
    expect(Object.keys(answer.headers).filter((name) => name.includes('remaining'))).toEqual([]);
  });

  it('answers 429 with Retry-After until the end of the hour once the user exceeds the limit', async () => {
    // Given
    const instance = await startInstance({ rateLimitPerHour: 2 });
    clock.advanceTo(Date.UTC(2026, 0, 5, 9, 59, 0));
    const { access_token } = await grantPassword(instance);
    await probe(instance, access_token);
    await probe(instance, access_token);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(answer.status).toBe(429);
    expect(Number(header(answer, 'retry-after'))).toBeGreaterThanOrEqual(59);
    expect(Number(header(answer, 'retry-after'))).toBeLessThanOrEqual(60);
    expect(header(answer, 'x-ratelimit-limit')).toBe('2');
    expect(JSON.parse(answer.text)).toMatchObject({
      error: { message: 'Rate limit exceeded', detail: expect.any(String) },
      status: 'failure',
    });
    expect(lastLog().result).toBe('rate-limited');
  });

  it('counts each user separately', async () => {
    // Given
    const instance = await startInstance({ rateLimitPerHour: 1 });
    instance.addUser({ username: 'second.user', password: 'second-password' });
    const first = await grantPassword(instance);
    const second = await grantPassword(instance, { username: 'second.user', password: 'second-password' });
    await probe(instance, first.access_token);
    // When
    const answer = await probe(instance, second.access_token);
    // Then
    expect(answer.status).toBe(200);
  });

  it('admits the user again in the next clock hour', async () => {
    // Given
    const instance = await startInstance({ rateLimitPerHour: 1 });
    const { access_token } = await grantPassword(instance);
    await probe(instance, access_token);
    expect((await probe(instance, access_token)).status).toBe(429);
    // When
    clock.advanceTo((Math.floor(clock.now() / HOUR_MS) + 1) * HOUR_MS);
    const fresh = await grantPassword(instance);
    const answer = await probe(instance, fresh.access_token);
    // Then
    expect(answer.status).toBe(200);
  });

  it('sends no X-RateLimit headers when no rule applies', async () => {
    // Given
    const instance = await startInstance({ rateLimitPerHour: null });
    const { access_token } = await grantPassword(instance);
    // When
    const answer = await probe(instance, access_token);
    // Then
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
  });

  it('answers 429 with Retry-After to every request while the request queue is full', async () => {
    // Given
    const instance = await startInstance({ queueFull: true });
    // When
    const token = await postToken(instance, passwordFields());
    const table = await probe(instance, 'any');
    // Then
    for (const answer of [token, table]) {
      expect(answer.status).toBe(429);
      expect(Number(header(answer, 'retry-after'))).toBeGreaterThan(0);
    }
    expect(sim.count({ result: 'queue-full' })).toBe(2);
  });
});

describe('hibernation', () => {
  const pages: { mode: HibernationMode; status: number; text: string }[] = [
    { mode: 'html-200', status: 200, text: 'Your instance is hibernating' },
    { mode: 'html-503', status: 503, text: 'Your instance is hibernating' },
    { mode: 'offline-200', status: 200, text: 'Your instance is currently offline' },
    { mode: 'offline-503', status: 503, text: 'Your instance is currently offline' },
  ];

  it.each(pages)(
    "answers a GET in mode '$mode' with HTML $status saying '$text'",
    async ({ mode, status, text }) => {
      // Given
      const instance = await startInstance({ hibernation: mode });
      // When
      const answer = await probe(instance, 'any');
      // Then
      expect(answer.status).toBe(status);
      expect(header(answer, 'content-type')).toMatch(/^text\/html/);
      expect(answer.text).toContain(text);
      expect(answer.text).toContain('https://developer.servicenow.com');
      expect(lastLog().result).toBe('hibernating');
    },
  );

  it("answers mode 'redirect-302' with a redirect to developer.servicenow.com, another host", async () => {
    // Given
    const instance = await startInstance({ hibernation: 'redirect-302' });
    // When
    const answer = await probe(instance, 'any');
    // Then
    expect(answer.status).toBe(302);
    const location = new URL(header(answer, 'location') ?? '');
    expect(location.host).toBe('developer.servicenow.com');
    expect(location.host).not.toBe(new URL(instance.url).host);
  });

  it('answers the token endpoint with the hibernation page too', async () => {
    // Given
    const instance = await startInstance({ hibernation: 'html-200' });
    // When
    const answer = await postToken(instance, passwordFields());
    // Then
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Your instance is hibernating');
  });

  it('answers a HEAD with a plain 200 and no body, so HEAD cannot see the hibernation', async () => {
    // Given
    const instance = await startInstance({ hibernation: 'html-503' });
    // When
    const answer = await probe(instance, 'any', { method: 'HEAD' });
    // Then
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
  });

  it('answers with the hibernation page before any injected fault, leaving the fault for later', async () => {
    // Given
    const instance = await startInstance({ hibernation: 'html-200' });
    instance.addFault({ fault: { kind: 'status', status: 500 } });
    const asleep = await postToken(instance, passwordFields());
    instance.settings.hibernation = null;
    // When
    const awake = await postToken(instance, passwordFields());
    // Then
    expect(asleep.text).toContain('Your instance is hibernating');
    expect(awake.status).toBe(500);
  });
});

describe('faults', () => {
  it("'latency' holds the answer back long enough for a client's deadline to pass", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'latency', ms: 500 } });
    // When
    const attempt = postToken(instance, passwordFields(), { signal: AbortSignal.timeout(50) });
    // Then
    await expect(attempt).rejects.toThrow();
  });

  it("'latency' then delivers the normal answer, and later requests are not delayed", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'latency', ms: 50 } });
    // When
    const delayed = await postToken(instance, passwordFields());
    const next = await postToken(instance, passwordFields());
    // Then
    expect(delayed.status).toBe(200);
    expect(JSON.parse(delayed.text)).toHaveProperty('access_token');
    expect(next.status).toBe(200);
    expect(sim.log.map((entry) => [entry.result, entry.outcome])).toEqual([
      ['fault:latency', 'password-ok'],
      ['password-ok', undefined],
    ]);
  });

  it("'status' answers a 503 with the ServiceNow error envelope by default", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'status', status: 503 } });
    // When
    const answer = await postToken(instance, passwordFields());
    // Then
    expect(answer.status).toBe(503);
    expect(answer.text).toBe('{"error":{"message":"Service Unavailable","detail":null},"status":"failure"}');
    expect(lastLog()).toMatchObject({ status: 503, result: 'fault:status' });
  });

  it("'status' answers the given body and content type", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({
      fault: { kind: 'status', status: 502, body: '<h1>Bad Gateway</h1>', contentType: 'text/html' },
    });
    // When
    const answer = await postToken(instance, passwordFields());
    // Then
    expect(answer.status).toBe(502);
    expect(header(answer, 'content-type')).toBe('text/html');
    expect(answer.text).toBe('<h1>Bad Gateway</h1>');
  });

  it("'reset' destroys the connection without an answer", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'reset' } });
    // When
    const attempt = postToken(instance, passwordFields());
    // Then
    await expect(attempt).rejects.toThrow();
    expect(lastLog()).toMatchObject({ status: 'reset', result: 'fault:reset' });
    expect(sim.count({ result: 'password-ok' })).toBe(0);
  });

  it("'slow-body' sends the headers at once but trickles the body past a client's deadline", async () => {
    // Given
    const instance = await startInstance();
    const { access_token } = await grantPassword(instance);
    instance.addFault({ fault: { kind: 'slow-body', chunkDelayMs: 300 } });
    // When
    const response = await open(`${instance.url}/api/now/table/sys_user?${PROBE_QUERY}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${access_token}` },
      signal: AbortSignal.timeout(150),
    });
    // Then
    expect(response.statusCode).toBe(200);
    await expect(response.body.text()).rejects.toThrow();
  });

  it("'slow-body' eventually delivers the whole normal answer", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'slow-body', chunkDelayMs: 2, chunkBytes: 64 } });
    // When
    const answer = await postToken(instance, passwordFields());
    // Then
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ token_type: 'Bearer', expires_in: 1799 });
    expect(lastLog()).toMatchObject({ result: 'fault:slow-body', outcome: 'password-ok' });
  });

  it("'truncated-body' promises a Content-Length and closes the socket before sending it all", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'truncated-body' } });
    // When
    const response = await open(`${instance.url}/oauth_token.do`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: new URLSearchParams(passwordFields()).toString(),
    });
    // Then
    expect(response.statusCode).toBe(200);
    expect(Number(response.headers['content-length'])).toBeGreaterThan(0);
    await expect(response.body.text()).rejects.toThrow();
    expect(lastLog()).toMatchObject({ result: 'fault:truncated-body', outcome: 'password-ok' });
  });

  it("'non-json' answers 200 labelled application/json with a body that does not parse", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'non-json' } });
    // When
    const answer = await postToken(instance, passwordFields());
    // Then
    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toMatch(/^application\/json/);
    expect(() => JSON.parse(answer.text)).toThrow(SyntaxError);
  });

  it("'huge-body' answers 200 with a JSON body of exactly the given size", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'huge-body', bytes: 2_000_000 } });
    // When
    const answer = await postToken(instance, passwordFields());
    // Then
    expect(answer.status).toBe(200);
    expect(Buffer.byteLength(answer.text)).toBe(2_000_000);
    expect(() => JSON.parse(answer.text)).not.toThrow();
  });

  it("'hang' never answers, so a client's deadline passes", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'hang' } });
    // When
    const attempt = postToken(instance, passwordFields(), { signal: AbortSignal.timeout(100) });
    // Then
    await expect(attempt).rejects.toThrow();
    expect(lastLog()).toMatchObject({ status: 'hang', result: 'fault:hang' });
  });

  it("'hang' ends when the simulator closes", async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'hang' } });
    const attempt = postToken(instance, passwordFields());
    await vi.waitFor(() => expect(sim.count({ result: 'fault:hang' })).toBe(1));
    // When
    await sim.close();
    // Then
    await expect(attempt).rejects.toThrow();
  });

  it('applies a fault only to paths with the given prefix and only the given number of times', async () => {
    // Given
    const instance = await startInstance();
    const { access_token } = await grantPassword(instance);
    instance.addFault({ fault: { kind: 'status', status: 500 }, path: '/api/', times: 2 });
    // When
    const token = await postToken(instance, passwordFields());
    const statuses = [];
    for (let call = 0; call < 3; call += 1) statuses.push((await probe(instance, access_token)).status);
    // Then
    expect(token.status).toBe(200);
    expect(statuses).toEqual([500, 500, 200]);
  });

  it('keeps a fault with times Infinity until clearFaults', async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'status', status: 503 }, times: Number.POSITIVE_INFINITY });
    const statuses = [];
    for (let call = 0; call < 4; call += 1)
      statuses.push((await postToken(instance, passwordFields())).status);
    // When
    instance.clearFaults();
    const after = await postToken(instance, passwordFields());
    // Then
    expect(statuses).toEqual([503, 503, 503, 503]);
    expect(after.status).toBe(200);
  });

  it('applies matching faults in the order they were added', async () => {
    // Given
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'status', status: 502 } });
    instance.addFault({ fault: { kind: 'status', status: 503 } });
    // When
    const first = await postToken(instance, passwordFields());
    const second = await postToken(instance, passwordFields());
    // Then
    expect([first.status, second.status]).toEqual([502, 503]);
  });

  it('refuses a fault rule that could never apply', async () => {
    // Given
    const instance = await startInstance();
    // When
    const adding = () => instance.addFault({ fault: { kind: 'reset' }, times: 0 });
    // Then
    expect(adding).toThrow(/times/);
  });
});

describe('inspection', () => {
  it('lists every access and refresh token the instance issued', async () => {
    // Given
    const instance = await startInstance();
    const first = await grantPassword(instance);
    clock.advance(1800 * SECOND_MS);
    // When
    const second = await grantRefresh(instance, first.refresh_token ?? '');
    // Then
    expect(new Set(instance.issuedTokens())).toEqual(
      new Set([first.access_token, first.refresh_token, second.access_token]),
    );
  });
});

describe('request log', () => {
  it('records instance, method, path, query, content type, grant, client, user, status and result', async () => {
    // Given
    const instance = await startInstance();
    const before = clock.now();
    // When
    await postToken(instance, passwordFields());
    // Then
    const entry = lastLog();
    expect(entry).toMatchObject({
      instance: 'dev1',
      method: 'POST',
      path: '/oauth_token.do',
      query: {},
      contentType: FORM,
      grantType: 'password',
      clientId: CLIENT.clientId,
      username: USER.username,
      status: 200,
      result: 'password-ok',
    });
    expect(entry.at).toBeGreaterThanOrEqual(before);
    expect(entry.at).toBeLessThanOrEqual(clock.now());
  });

  it('stamps entries with the simulator clock, not the system clock', async () => {
    // Given
    const instance = await startInstance();
    const start = clock.now();
    clock.advance(30 * DAY_MS);
    // When
    await probe(instance);
    // Then
    expect(lastLog().at).toBeGreaterThanOrEqual(start + 30 * DAY_MS);
    expect(Math.abs(lastLog().at - Date.now())).toBeGreaterThan(DAY_MS);
  });

  it('records the query string of table requests', async () => {
    // Given
    const instance = await startInstance();
    // When
    await probe(instance);
    // Then
    expect(lastLog()).toMatchObject({
      method: 'GET',
      path: '/api/now/table/sys_user',
      query: { sysparm_limit: '1', sysparm_fields: 'sys_id' },
    });
  });

  it('counts entries matching fields or a predicate', async () => {
    // Given
    const instance = await startInstance();
    const tokens = await grantPassword(instance);
    await postToken(instance, passwordFields({ password: 'wrong' }));
    await probe(instance, tokens.access_token);
    // When
    const byFields = sim.count({ path: '/oauth_token.do', grantType: 'password' });
    const byResult = sim.count({ result: 'rejected:wrong-password' });
    const byPredicate = sim.count((entry) => entry.status === 200);
    // Then
    expect([sim.count(), byFields, byResult, byPredicate]).toEqual([3, 2, 1, 2]);
  });

  it('empties the log on clearLog', async () => {
    // Given
    const instance = await startInstance();
    await probe(instance);
    // When
    sim.clearLog();
    // Then
    expect(sim.log).toEqual([]);
    expect(sim.count()).toBe(0);
  });

  it('serves each instance on its own port and logs which one answered', async () => {
    // Given
    const first = await startInstance({}, 'dev1');
    const second = await startInstance({}, 'dev2');
    // When
    await probe(first);
    await probe(second);
    // Then
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(second.url).not.toBe(first.url);
    expect(sim.log.map((entry) => entry.instance)).toEqual(['dev1', 'dev2']);
    expect(sim.instance('dev2')).toBe(second);
  });

  it('throws for an instance name that was never added', () => {
    // Given a simulator without instances
    // When
    const lookup = () => sim.instance('missing');
    // Then
    expect(lookup).toThrow(/missing/);
  });
});

describe('what stands between us and ServiceNow', () => {
  it("'reencode' adds a byte order mark before the processed answer", async () => {
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'reencode', bom: true } });

    const response = await open(`${instance.url}/oauth_token.do`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: new URLSearchParams(passwordFields()).toString(),
    });
    const bytes = Buffer.from(await response.body.arrayBuffer());

    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(JSON.parse(bytes.subarray(3).toString('utf8'))).toHaveProperty('access_token');
    expect(lastLog()).toMatchObject({ result: 'fault:reencode', outcome: 'password-ok' });
  });

  it("'reencode' removes or replaces the Content-Type", async () => {
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'reencode', contentType: null } });
    instance.addFault({ fault: { kind: 'reencode', contentType: 'text/plain' } });

    const bare = await postToken(instance, passwordFields());
    const plain = await postToken(instance, passwordFields());

    expect(header(bare, 'content-type')).toBeUndefined();
    expect(header(plain, 'content-type')).toBe('text/plain');
    expect(JSON.parse(plain.text)).toHaveProperty('access_token');
  });

  it("'oauth-error' answers an RFC 6749 error as a gateway does, without processing", async () => {
    const instance = await startInstance();
    instance.addFault({ fault: { kind: 'oauth-error', error: 'invalid_grant', description: 'expired' } });

    const answer = await postToken(instance, passwordFields());

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({ error: 'invalid_grant', error_description: 'expired' });
    expect(sim.count({ result: 'password-ok' })).toBe(0);
  });

  it.each(['error.message', 'error_description', 'html', 'header'] as const)(
    "'echo-secrets' quotes the request's secrets in %s",
    async (where) => {
      const instance = await startInstance();
      instance.addFault({ fault: { kind: 'echo-secrets', where } });

      const answer = await postToken(instance, passwordFields());

      expect(answer.status).toBe(400);
      const everything = `${answer.text} ${JSON.stringify(answer.headers)}`;
      expect(everything).toContain(CLIENT.clientSecret);
      expect(everything).toContain(USER.password);
    },
  );

  it('answers 429 with Retry-After counting down and X-RateLimit-Reset while a window is open', async () => {
    const until = clock.now() + 180_000;
    const instance = await startInstance({ rateLimitWindow: { until } });

    const first = await postToken(instance, passwordFields());
    clock.advance(60_000);
    const second = await postToken(instance, passwordFields());
    clock.advance(120_000);
    const after = await postToken(instance, passwordFields());

    expect(first.status).toBe(429);
    expect(header(first, 'retry-after')).toBe('180');
    expect(header(second, 'retry-after')).toBe('120');
    expect(Number(header(first, 'x-ratelimit-reset'))).toBe(Math.ceil(until / 1000));
    expect(after.status).toBe(200);
  });

  it('sends Retry-After as an HTTP-date, and with a 503, when asked', async () => {
    const until = clock.now() + 90_000;
    const instance = await startInstance({
      rateLimitWindow: { until, retryAfter: 'http-date', status: 503, rateLimitHeaders: false },
    });

    const answer = await postToken(instance, passwordFields());

    expect(answer.status).toBe(503);
    expect(Date.parse(header(answer, 'retry-after') ?? '')).toBeGreaterThanOrEqual(until);
    expect(header(answer, 'x-ratelimit-reset')).toBeUndefined();
  });

  it('serves incident records whose text mentions hibernation, offline and maintenance', async () => {
    const instance = await startInstance();
    const { access_token } = await grantPassword(instance);

    const answer = await send(`${instance.url}/api/now/table/incident`, {
      headers: { accept: 'application/json', authorization: `Bearer ${access_token}` },
    });

    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toMatch(/^application\/json/);
    expect(answer.text).toMatch(/hibernation/);
    expect(answer.text).toMatch(/currently offline/);
    expect(answer.text).toMatch(/maintenance/);
  });
});
