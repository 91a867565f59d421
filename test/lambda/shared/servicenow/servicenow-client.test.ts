import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type HibernationMode,
  ServiceNowSimulator,
  type SimInstance,
} from '../../../../harness/servicenow-simulator';
import { VirtualClock } from '../../../../harness/virtual-clock';
import { parseInstanceUrl } from '../../../../lambda/shared/servicenow/instance-url';
import {
  createServiceNowAgent,
  type HttpLimits,
  ServiceNowClient,
  type TokenGrant,
} from '../../../../lambda/shared/servicenow/servicenow-client';

const DAY = 86_400_000;
let clock: VirtualClock;
let sim: ServiceNowSimulator;
let instance: SimInstance;
let agent: Agent;
const limits: Partial<HttpLimits> = {
  connectTimeoutMs: 1_000,
  headersTimeoutMs: 400,
  bodyTimeoutMs: 400,
  overallTimeoutMs: 1_500,
  maxResponseBytes: 8 * 1024,
};

beforeEach(async () => {
  clock = new VirtualClock();
  sim = new ServiceNowSimulator({ clock });
  instance = await sim.addInstance('acme');
  instance.addRegistry({ clientId: 'client-1', clientSecret: 'secret-1' });
  instance.addUser({ username: 'svc', password: 'pw-1' });
  agent = createServiceNowAgent(limits);
});

afterEach(async () => {
  await sim.close();
  await agent.close();
});

const client = (url = instance.url) => new ServiceNowClient(url, { dispatcher: agent, clock }, limits);
const password: TokenGrant = {
  grantType: 'password',
  clientId: 'client-1',
  clientSecret: 'secret-1',
  username: 'svc',
  password: 'pw-1',
};
const refresh = (refreshToken: string): TokenGrant => ({
  grantType: 'refresh_token',
  clientId: 'client-1',
  clientSecret: 'secret-1',
  refreshToken,
});

async function passwordTokens() {
  const outcome = await client().requestToken(password);
  if (outcome.kind !== 'ok' || !outcome.value.refreshToken)
    throw new Error(`password grant failed: ${outcome.kind}`);
  return { accessToken: outcome.value.accessToken, refreshToken: outcome.value.refreshToken };
}

describe('token endpoint', () => {
  it('runs the password grant with a form-encoded body and no query string, and reads the answer', async () => {
    const outcome = await client().requestToken(password);

    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.value.tokenType).toBe('Bearer');
    expect(outcome.value.expiresInSeconds).toBe(1799);
    expect(outcome.value.refreshToken).toMatch(/.{20,}/);
    expect(outcome.value.sentAt).toBeLessThanOrEqual(clock.now());
    const [logged] = sim.log;
    expect(logged?.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(logged?.query).toEqual({});
    expect(logged?.result).toBe('password-ok');
  });

  it('reports expires_in as the lifespan minus one for other lifespans', async () => {
    instance.registry('client-1').accessTokenLifespanSeconds = 7200;

    const outcome = await client().requestToken(password);

    expect(outcome.kind === 'ok' && outcome.value.expiresInSeconds).toBe(7199);
  });

  it('sees the refresh grant echo the same refresh token', async () => {
    const { refreshToken } = await passwordTokens();
    clock.advance(31 * 60_000);

    const outcome = await client().requestToken(refresh(refreshToken));

    expect(outcome.kind === 'ok' && outcome.value.refreshToken).toBe(refreshToken);
  });

  it('sees an early refresh hand back the current access token with its remaining life', async () => {
    const { accessToken, refreshToken } = await passwordTokens();
    clock.advance(10 * 60_000);

    const outcome = await client().requestToken(refresh(refreshToken));

    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.value.accessToken).toBe(accessToken);
    expect(outcome.value.expiresInSeconds).toBeGreaterThanOrEqual(1198);
    expect(outcome.value.expiresInSeconds).toBeLessThanOrEqual(1199);
  });

  it('sees an early refresh hand back the current access token claiming a full lifespan', async () => {
    instance.settings.earlyRefreshMode = 'current-full';
    const { accessToken, refreshToken } = await passwordTokens();
    clock.advance(10 * 60_000);

    const outcome = await client().requestToken(refresh(refreshToken));

    expect(outcome.kind === 'ok' && [outcome.value.accessToken, outcome.value.expiresInSeconds]).toEqual([
      accessToken,
      1799,
    ]);
  });

  it('gets a new access token on an early refresh in the extending mode', async () => {
    instance.settings.earlyRefreshMode = 'new-token';
    const { accessToken, refreshToken } = await passwordTokens();
    clock.advance(10 * 60_000);

    const outcome = await client().requestToken(refresh(refreshToken));

    expect(outcome.kind === 'ok' && outcome.value.accessToken).not.toBe(accessToken);
  });

  it('keeps a refresh token working until day 100 and classifies it as rejected after', async () => {
    const { refreshToken } = await passwordTokens();
    clock.advance(100 * DAY - 60_000);
    const before = await client().requestToken(refresh(refreshToken));
    clock.advance(60_000);

    const after = await client().requestToken(refresh(refreshToken));

    expect(before.kind).toBe('ok');
    expect(after).toEqual({ kind: 'rejected', status: 401 });
    expect(sim.log.at(-1)?.result).toMatch(/^rejected:.*expired/);
  });

  it.each([
    ['a wrong client secret', () => ({ ...password, clientSecret: 'wrong' })],
    ['an unknown client', () => ({ ...password, clientId: 'nobody' })],
    ['a wrong password', () => ({ ...password, password: 'wrong' })],
    ['an unknown user', () => ({ ...password, username: 'nobody' })],
    [
      'a locked user',
      () => {
        instance.user('svc').locked = true;
        return password;
      },
    ],
    [
      'an inactive user',
      () => {
        instance.user('svc').active = false;
        return password;
      },
    ],
    [
      'a disabled password grant',
      () => {
        instance.settings.passwordGrantDisabled = true;
        return password;
      },
    ],
  ] as const)('classifies %s as the opaque rejection', async (_cause, grant) => {
    const outcome = await client().requestToken(grant());

    expect(outcome).toEqual({ kind: 'rejected', status: 401 });
  });

  it('classifies a revoked refresh token as the opaque rejection', async () => {
    const { refreshToken } = await passwordTokens();
    instance.revoke(refreshToken);

    expect(await client().requestToken(refresh(refreshToken))).toEqual({ kind: 'rejected', status: 401 });
  });
});

describe('probe', () => {
  it('proves a token works with one row', async () => {
    const { accessToken } = await passwordTokens();

    const outcome = await client().probe(accessToken);

    expect(outcome.kind === 'ok' && outcome.value.rows).toBe(1);
    expect(sim.log.at(-1)?.result).toBe('table-ok');
  });

  it('treats an empty result as a working token', async () => {
    instance.settings.tableRows = 0;
    const { accessToken } = await passwordTokens();

    const outcome = await client().probe(accessToken);

    expect(outcome.kind === 'ok' && outcome.value.rows).toBe(0);
  });

  it('classifies an expired token as unauthorized', async () => {
    const { accessToken } = await passwordTokens();
    clock.advance(31 * 60_000);

    expect(await client().probe(accessToken)).toEqual({
      kind: 'unauthorized',
      status: 401,
      message: 'User Not Authenticated',
    });
  });

  it('classifies a revoked token as unauthorized', async () => {
    const { accessToken } = await passwordTokens();
    instance.revoke(accessToken);

    expect((await client().probe(accessToken)).kind).toBe('unauthorized');
  });

  it('classifies a missing role as forbidden', async () => {
    instance.user('svc').roles = [];
    const { accessToken } = await passwordTokens();

    expect((await client().probe(accessToken)).kind).toBe('forbidden');
  });

  it('classifies an unknown table as an unusable answer naming the status', async () => {
    const { accessToken } = await passwordTokens();

    const outcome = await client().probe(accessToken, '/api/now/table/no_such_table?sysparm_limit=1');

    expect(outcome.kind).toBe('malformed');
    expect(outcome.kind === 'malformed' && outcome.detail).toMatch(/HTTP (400|404)/);
  });

  it('refuses a probe path that would leave the instance', async () => {
    await expect(client().probe('t', 'https://elsewhere.example.com/api')).rejects.toThrow(
      /leaves the instance/,
    );
  });
});

describe('rate limits', () => {
  it('reads Retry-After and the X-RateLimit headers from a 429', async () => {
    instance.settings.rateLimitPerHour = 1;
    const { accessToken } = await passwordTokens();
    await client().probe(accessToken);

    const outcome = await client().probe(accessToken);

    expect(outcome.kind).toBe('rate-limited');
    if (outcome.kind !== 'rate-limited') return;
    expect(outcome.limit).toBe(1);
    expect(outcome.retryAfterSeconds).toBeGreaterThan(0);
    expect(outcome.resetAt).toBeGreaterThan(clock.now());
    expect(outcome.rule).toBeTruthy();
  });

  it('classifies a full request queue as rate limited', async () => {
    instance.settings.queueFull = true;

    const outcome = await client().requestToken(password);

    expect(outcome.kind === 'rate-limited' && outcome.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe('when the next request may go', () => {
  it('reads a Retry-After in seconds as the earliest next request', async () => {
    const until = clock.now() + 180_000;
    instance.settings.rateLimitWindow = { until };

    const outcome = await client().requestToken(password);

    expect(outcome.kind).toBe('rate-limited');
    if (outcome.kind !== 'rate-limited') return;
    expect(outcome.retryAt).toBeGreaterThanOrEqual(until - 1_000);
    expect(outcome.retryAt).toBeLessThanOrEqual(until + 1_000);
  });

  it('reads a Retry-After HTTP-date on a 503', async () => {
    const until = clock.now() + 90_000;
    instance.settings.rateLimitWindow = { until, retryAfter: 'http-date', status: 503 };

    const outcome = await client().requestToken(password);

    expect(outcome).toMatchObject({ kind: 'unavailable', status: 503 });
    expect(outcome.kind === 'unavailable' && outcome.retryAt).toBeGreaterThanOrEqual(until);
  });

  it('falls back to X-RateLimit-Reset on a 429 without Retry-After', async () => {
    const until = clock.now() + 600_000;
    instance.settings.rateLimitWindow = { until, retryAfter: 'none' };

    const outcome = await client().requestToken(password);

    expect(outcome.kind === 'rate-limited' && outcome.retryAt).toBe(Math.ceil(until / 1000) * 1000);
  });

  it('cuts an absurd Retry-After to an hour', async () => {
    instance.addFault({ fault: { kind: 'status', status: 429, headers: { 'Retry-After': '864000' } } });

    const outcome = await client().requestToken(password);

    expect(outcome.kind === 'rate-limited' && outcome.retryAt).toBeLessThanOrEqual(clock.now() + 3_600_000);
  });
});

describe('instance unavailable', () => {
  it.each([
    ['html-200', 'hibernating', 200],
    ['redirect-302', 'hibernating', 302],
    ['html-503', 'hibernating', 503],
    ['offline-200', 'offline', 200],
    ['offline-503', 'offline', 503],
  ] as const)('classifies the %s page as %s on the token endpoint', async (mode, reason, status) => {
    instance.settings.hibernation = mode as HibernationMode;

    const outcome = await client().requestToken(password);

    expect(outcome).toMatchObject({ kind: 'unavailable', reason, status });
  });

  it('classifies a hibernation page as unavailable on the probe too, even with status 200', async () => {
    const { accessToken } = await passwordTokens();
    instance.settings.hibernation = 'html-200';

    expect(await client().probe(accessToken)).toMatchObject({
      kind: 'unavailable',
      reason: 'hibernating',
      status: 200,
    });
  });

  it.each([500, 502, 503])('classifies a JSON %i as a server error', async (status) => {
    instance.addFault({ fault: { kind: 'status', status } });

    expect(await client().requestToken(password)).toMatchObject({
      kind: 'unavailable',
      reason: 'server-error',
      status,
    });
  });

  it('classifies HTML sent as JSON as unavailable rather than crashing on "Unexpected token <"', async () => {
    instance.addFault({ fault: { kind: 'non-json' } });

    expect(await client().requestToken(password)).toMatchObject({ kind: 'unavailable', reason: 'html' });
  });
});

describe('answers read as ServiceNow means them', () => {
  it('reads Table API records that mention hibernation, offline and maintenance as data', async () => {
    const { accessToken } = await passwordTokens();

    const outcome = await client().probe(accessToken, '/api/now/table/incident?sysparm_limit=4');

    expect(outcome).toMatchObject({ kind: 'ok', value: { rows: 4 } });
  });

  it('reads a JSON error envelope whose message mentions hibernation as the error it is', async () => {
    const body = JSON.stringify({
      error: { message: 'Laptop does not wake up from hibernation', detail: null },
      status: 'failure',
    });
    instance.addFault({ fault: { kind: 'status', status: 403, body } });

    expect(await client().requestToken(password)).toMatchObject({ kind: 'forbidden', status: 403 });
  });

  it('reads a token answer behind a UTF-8 byte order mark', async () => {
    instance.addFault({ fault: { kind: 'reencode', bom: true } });

    expect(await client().requestToken(password)).toMatchObject({ kind: 'ok' });
  });

  it('reads a token answer that has no Content-Type header', async () => {
    instance.addFault({ fault: { kind: 'reencode', contentType: null } });

    expect(await client().requestToken(password)).toMatchObject({ kind: 'ok' });
  });

  it('reads a token answer labelled text/plain with a byte order mark', async () => {
    instance.addFault({ fault: { kind: 'reencode', contentType: 'text/plain', bom: true } });

    expect(await client().requestToken(password)).toMatchObject({ kind: 'ok' });
  });

  it('never parses an answer labelled text/html as JSON, even a valid token answer', async () => {
    instance.addFault({ fault: { kind: 'reencode', contentType: 'text/html;charset=UTF-8' } });

    expect(await client().requestToken(password)).toMatchObject({ kind: 'unavailable', reason: 'html' });
  });

  it('still calls an unlabelled hibernation page hibernating', async () => {
    const page = '<html><body>Your instance is hibernating</body></html>';
    instance.addFault({ fault: { kind: 'status', status: 200, body: page, contentType: '' } });

    expect(await client().requestToken(password)).toMatchObject({
      kind: 'unavailable',
      reason: 'hibernating',
    });
  });
});

describe('RFC 6749 errors from a gateway', () => {
  it.each([
    ['invalid_grant', 400],
    ['invalid_client', 401],
    ['invalid_client', 400],
    ['unauthorized_client', 400],
    ['unsupported_grant_type', 400],
  ] as const)('takes %s (HTTP %i) as a refused grant that names the error', async (error, status) => {
    instance.addFault({
      fault: { kind: 'oauth-error', error, status, description: 'refused by the gateway' },
    });

    const outcome = await client().requestToken(password);

    expect(outcome).toMatchObject({ kind: 'rejected', status, oauthError: error });
  });

  it("keeps ServiceNow's own opaque 401 the plain refusal it always was", async () => {
    const outcome = await client().requestToken({ ...password, clientSecret: 'wrong' });

    expect(outcome).toEqual({ kind: 'rejected', status: 401 });
  });
});

describe('secrets quoted back in error answers', () => {
  it.each(['error.message', 'error_description', 'html', 'header'] as const)(
    'never carries a secret of the request out of an answer quoting it in %s',
    async (where) => {
      const { refreshToken, accessToken } = await passwordTokens();
      instance.addFault({ fault: { kind: 'echo-secrets', where }, times: 2 });

      const grant = await client().requestToken(refresh(refreshToken));
      const probe = await client().probe(accessToken);

      expect(grant.kind).not.toBe('ok');
      const text = `${JSON.stringify(grant)} ${JSON.stringify(probe)}`;
      for (const secret of ['secret-1', refreshToken, accessToken]) expect(text).not.toContain(secret);
    },
  );
});

describe('network faults', () => {
  it('classifies a connection reset as a network error', async () => {
    instance.addFault({ fault: { kind: 'reset' } });

    expect((await client().requestToken(password)).kind).toBe('network-error');
  });

  it('classifies a truncated body as a network error', async () => {
    instance.addFault({ fault: { kind: 'truncated-body' } });

    expect((await client().requestToken(password)).kind).toBe('network-error');
  });

  it('refuses a body over the size cap without reading it all', async () => {
    instance.addFault({ fault: { kind: 'huge-body', bytes: 200_000 } });

    expect(await client().requestToken(password)).toMatchObject({
      kind: 'malformed',
      detail: 'response larger than 8192 bytes',
    });
  });

  it('times out waiting for headers', async () => {
    instance.addFault({ fault: { kind: 'latency', ms: 1_000 } });

    expect(await client().requestToken(password)).toEqual({ kind: 'timeout', phase: 'headers' });
  });

  it('times out on a server that never answers', async () => {
    instance.addFault({ fault: { kind: 'hang' } });

    expect((await client().requestToken(password)).kind).toBe('timeout');
  });

  it('times out on a body that stalls', async () => {
    instance.addFault({ fault: { kind: 'slow-body', chunkDelayMs: 3_000 } });
    // The overall bound is lifted here so the body timeout (undici checks it about once a second) speaks first.
    const patient = new ServiceNowClient(
      instance.url,
      { dispatcher: agent, clock },
      { ...limits, overallTimeoutMs: 10_000 },
    );

    expect(await patient.requestToken(password)).toEqual({ kind: 'timeout', phase: 'body' });
  });

  it('bounds the whole request even when every chunk arrives in time', async () => {
    instance.addFault({ fault: { kind: 'slow-body', chunkDelayMs: 150, chunkBytes: 16 } });

    expect(await client().requestToken(password)).toEqual({ kind: 'timeout', phase: 'overall' });
  });

  it('classifies a refused connection as a network error', async () => {
    const url = instance.url;
    await sim.close();

    expect(await client(url).requestToken(password)).toMatchObject({
      kind: 'network-error',
      code: 'ECONNREFUSED',
    });
  });
});

describe('redirects and addresses', () => {
  let elsewhere: Server;
  let redirector: Server;
  const hits: (string | undefined)[] = [];

  beforeEach(async () => {
    hits.length = 0;
    elsewhere = createServer((req, res) => {
      hits.push(req.headers.authorization);
      res.end('{}');
    });
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/steal`;
    redirector = createServer((_req, res) => {
      res.writeHead(302, { location: target });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
  });

  afterEach(async () => {
    await new Promise((r) => elsewhere.close(r));
    await new Promise((r) => redirector.close(r));
  });

  it('never follows a redirect, so the bearer token never reaches another host', async () => {
    const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;

    const outcome = await client(url).probe('secret-bearer-token');

    expect(outcome).toMatchObject({ kind: 'unavailable', reason: 'redirect', status: 302 });
    expect(hits).toEqual([]);
  });

  it.each([
    ['http://acme.service-now.com', /must use https/],
    ['https://acme.service-now.com/login.do', /without a path/],
    ['https://user:pw@acme.service-now.com', /user name or password/],
    ['not a url', /not a URL/],
  ])('refuses the instance URL %s', (url, message) => {
    expect(() => parseInstanceUrl(url)).toThrow(message);
  });

  it('accepts https and plain http on loopback only', () => {
    expect(parseInstanceUrl('https://acme.service-now.com').origin).toBe('https://acme.service-now.com');
    expect(parseInstanceUrl('http://127.0.0.1:8080').origin).toBe('http://127.0.0.1:8080');
  });
});
