import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import type { Fault } from '../../../harness/servicenow-simulator';
import { TimeWarp } from '../../../harness/time-warp';
import { bootstrapWithPassword } from '../../../lambda/shared/password-bootstrap';

const MINUTE = 60_000;
const DAY = 86_400_000;
const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event' };
const force = (instance = 'acme') => ({ action: 'refresh', instances: [instance], force: true });

let fixture: RefresherFixture;
afterEach(async () => {
  // Whatever a test did, no secret value may appear in what the system logged.
  const logged = fixture.logs.text();
  await fixture.close();
  for (const secret of fixture.secretValues()) expect(logged).not.toContain(secret);
});

async function expectValidStoredToken(f: RefresherFixture, name = 'acme') {
  const stored = await f.accessToken(name);
  expect(stored).toBeDefined();
  if (!stored) return;
  const record = f.instance(name).sim.accessToken(stored.accessToken);
  expect(f.instance(name).sim.isAccessTokenValid(stored.accessToken)).toBe(true);
  // Never a validity longer than ServiceNow's.
  expect(Date.parse(stored.expiresAt)).toBeLessThanOrEqual(record?.expiresAt ?? 0);
  const state = await f.instanceState(name);
  expect(state?.accessTokenExpiresAt).toBe(Date.parse(stored.expiresAt));
}

describe('refresher against the simulator and the local AWS emulator', () => {
  it('stores a first access token from freshly bootstrapped credentials', async () => {
    fixture = await RefresherFixture.create();
    const acme = fixture.instance();
    const grant = await fixture.client().requestToken({
      grantType: 'password',
      clientId: acme.registry.clientId,
      clientSecret: acme.registry.clientSecret,
      username: acme.username,
      password: acme.password,
    });
    if (grant.kind !== 'ok' || !grant.value.refreshToken) throw new Error('password grant failed');
    await fixture.secrets.write(acme.config.credentialsSecretId, {
      schemaVersion: 1,
      grant: 'password',
      clientId: acme.registry.clientId,
      clientSecret: acme.registry.clientSecret,
      refreshToken: grant.value.refreshToken,
      refreshTokenIssuedAt: new Date(grant.value.sentAt).toISOString(),
      refreshTokenLifespanSeconds: 8_640_000,
    });

    const response = await fixture.handler()(scheduled);

    expect(response.results).toEqual([expect.objectContaining({ instance: 'acme', outcome: 'refreshed' })]);
    await expectValidStoredToken(fixture);
    const state = await fixture.instanceState();
    expect(state).toMatchObject({ lastOutcome: 'refreshed', consecutiveFailures: 0, grant: 'password' });
    expect(state?.refreshTokenIssuedAt).toBe(grant.value.sentAt);
  });

  it('reports "refresh token expired" at day 100 of echoed refresh tokens, not earlier and not later', async () => {
    fixture = await RefresherFixture.create({ registry: { accessTokenLifespanSeconds: 7200 } });
    const { refreshTokenExpiresAt } = await fixture.bootstrap();
    const handler = fixture.handler();
    const outcomes: { at: number; outcome: string }[] = [];
    const warp = new TimeWarp(fixture.clock).every('refresher', fixture.settings.scheduleIntervalMs, () =>
      handler(scheduled),
    );

    await warp.runFor(101 * DAY, (tick) => {
      for (const r of (tick.result as { results?: { outcome: string }[] } | undefined)?.results ?? []) {
        outcomes.push({ at: fixture.clock.now(), outcome: r.outcome });
      }
    });

    const firstFailure = outcomes.find(
      (o) => o.outcome !== 'refreshed' && o.outcome !== 'current-token-returned',
    );
    expect(firstFailure?.outcome).toBe('refresh-token-expired');
    // The last working token was obtained before day 100; the first refusal comes at most one token later.
    expect(firstFailure?.at).toBeGreaterThanOrEqual(refreshTokenExpiresAt);
    expect(firstFailure?.at).toBeLessThan(
      refreshTokenExpiresAt + fixture.settings.scheduleIntervalMs + 5_000,
    );
    expect(
      outcomes
        .filter((o) => o.at < refreshTokenExpiresAt)
        .every((o) => !o.outcome.startsWith('refresh-token')),
    ).toBe(true);
    const credentials = await fixture.credentials();
    expect(Date.parse(credentials?.refreshTokenIssuedAt ?? '')).toBe(refreshTokenExpiresAt - 100 * DAY);
    expect((await fixture.instanceState())?.lastOutcomeDetail).toMatch(/snow-token renew acme/);
  }, 180_000);

  it('loses no update when two refresher runs and a renewal race on one instance', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { rotateRefreshTokens: true } }],
    });
    await fixture.bootstrap();
    const first = fixture.handler();
    const second = fixture.handler();
    const acme = fixture.instance();
    const renew = async () => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const result = await bootstrapWithPassword(
          {
            clock: fixture.clock,
            secrets: fixture.secrets,
            state: fixture.state,
            client: fixture.client(),
            owner: 'cli/racer',
          },
          acme.config,
          {
            clientId: acme.registry.clientId,
            clientSecret: acme.registry.clientSecret,
            username: acme.username,
            password: acme.password,
          },
        );
        if (result.kind === 'ok') return result;
        if (result.kind === 'failed') throw new Error(result.message);
        // Backs off as an operator retrying `snow-token renew` would, so the renewal cannot keep
        // the lease to itself and starve the refreshers it races.
        await sleep(Math.min(5 * 2 ** attempt, 100));
      }
      throw new Error('renewal never got the lease');
    };
    const outcomes: string[] = [];
    const seen = (outcome: string) => outcomes.includes(outcome);

    // At least 8 rounds, and on until both a refresher and a lease refusal have been seen (each
    // round is a real race, so which writer wins is up to the scheduler; 40 rounds bound it).
    for (let round = 0; round < 40 && (round < 8 || !seen('busy') || !seen('refreshed')); round++) {
      fixture.clock.advance(40 * MINUTE);
      // Odd rounds give the refreshers a head start, so both orders of the race are exercised.
      const renewal = round % 2 === 1 ? sleep(20).then(renew) : renew();
      const [a, b] = await Promise.all([first(force()), second(force()), renewal]);
      outcomes.push(...[...a.results, ...b.results].map((r) => r.outcome));
      const credentials = await fixture.credentials();
      const live = acme.sim.refreshToken(credentials?.refreshToken ?? '');
      expect(live?.revoked).toBe(false);
      expect(live?.expiresAt).toBeGreaterThan(fixture.clock.now());
      await expectValidStoredToken(fixture);
      const state = await fixture.instanceState();
      expect(state?.refreshTokenIssuedAt).toBe(Date.parse(credentials?.refreshTokenIssuedAt ?? ''));
      expect(state?.leaseOwner).toBeUndefined();
    }
    // The lease really was contended: some runs found it held.
    expect(outcomes).toContain('busy');
    expect(outcomes).toContain('refreshed');
  });

  const faults: [string, Fault | 'hibernation' | 'rejected' | 'rate-limited', string][] = [
    ['a 500', { kind: 'status', status: 500 }, 'unavailable'],
    ['a 503', { kind: 'status', status: 503 }, 'unavailable'],
    ['a connection reset', { kind: 'reset' }, 'network-error'],
    ['a server that never answers', { kind: 'hang' }, 'timeout'],
    ['HTML sent as JSON', { kind: 'non-json' }, 'unavailable'],
    ['an oversized body', { kind: 'huge-body', bytes: 500_000 }, 'malformed'],
    ['a truncated body', { kind: 'truncated-body' }, 'network-error'],
    [
      'a JSON answer without a token',
      { kind: 'status', status: 200, body: '{"result":"ok"}', contentType: 'application/json' },
      'malformed',
    ],
    ['a 200 hibernation page', 'hibernation', 'unavailable'],
    ['a rate limit', 'rate-limited', 'rate-limited'],
    ['a rejected grant', 'rejected', 'refresh-token-rejected'],
  ];

  it.each(faults)(
    'leaves both secrets intact and records the failure after %s',
    async (_name, fault, outcome) => {
      fixture = await RefresherFixture.create({
        refresh: { attemptBudgetMs: 3_000 },
      });
      await fixture.bootstrap();
      const acme = fixture.instance();
      const credentialsBefore = await fixture.rawSecret(acme.config.credentialsSecretId);
      const tokenBefore = await fixture.rawSecret(acme.config.accessTokenSecretId);
      if (fault === 'hibernation') acme.sim.settings.hibernation = 'html-200';
      else if (fault === 'rejected') acme.registry.clientSecret = 'rotated-by-admin';
      else if (fault === 'rate-limited') acme.sim.settings.queueFull = true;
      else acme.sim.addFault({ fault, path: '/oauth_token.do', times: Number.POSITIVE_INFINITY });

      const response = await fixture.handler()(force());

      expect(response.results[0]?.outcome).toBe(outcome);
      expect(await fixture.rawSecret(acme.config.credentialsSecretId)).toBe(credentialsBefore);
      expect(await fixture.rawSecret(acme.config.accessTokenSecretId)).toBe(tokenBefore);
      const state = await fixture.instanceState();
      expect(state).toMatchObject({ lastOutcome: outcome, consecutiveFailures: 1 });
      expect(state?.failingSince).toBeDefined();
      expect(state?.leaseOwner).toBeUndefined();
    },
    30_000,
  );

  it('does not retry a rejected grant within the run, and waits before the next automatic try', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    fixture.instance().registry.clientSecret = 'rotated-by-admin';
    const handler = fixture.handler();
    fixture.clock.advance(28 * MINUTE);

    await handler(scheduled);
    await handler(scheduled);

    expect(fixture.sim.count({ grantType: 'refresh_token' })).toBe(1);
    const state = await fixture.instanceState();
    expect(state?.lastOutcomeDetail).toMatch(/revoked, or the client secret changed/);
    expect(state?.nextAttemptAt).toBe((state?.lastAttemptAt ?? 0) + fixture.settings.permanentRetryMs);
  });

  it.each([
    ['not JSON', 'refresh-token=abc'],
    ['missing fields', '{"schemaVersion":1,"grant":"password","clientId":"x"}'],
    [
      'a wrong type',
      '{"schemaVersion":1,"grant":"password","clientId":"x","clientSecret":"y","refreshToken":7,"refreshTokenIssuedAt":"2026-01-01T00:00:00Z"}',
    ],
    ['an unknown schema version', '{"schemaVersion":9}'],
  ])('reports a credentials secret with %s and leaves it untouched', async (_case, text) => {
    fixture = await RefresherFixture.create();
    const acme = fixture.instance();
    await fixture.secrets.write(acme.config.credentialsSecretId, JSON.parse(JSON.stringify(text)));
    const raw = await fixture.rawSecret(acme.config.credentialsSecretId);

    const response = await fixture.handler()(scheduled);

    expect(response.results[0]).toMatchObject({
      outcome: 'invalid-credentials-secret',
      detail: expect.stringMatching(/is not valid \(.+\).*snow-token renew acme/),
    });
    expect(await fixture.rawSecret(acme.config.credentialsSecretId)).toBe(raw);
    expect(fixture.sim.log).toHaveLength(0);
  });

  it('says how to bootstrap an instance whose credentials secret has no value yet', async () => {
    fixture = await RefresherFixture.create();

    const response = await fixture.handler()(scheduled);

    expect(response.results[0]).toMatchObject({
      outcome: 'not-bootstrapped',
      detail: expect.stringMatching(/snow-token bootstrap acme/),
    });
  });

  it('refreshes each of several instances independently', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme' }, { name: 'globex' }, { name: 'initech' }],
    });
    for (const name of ['acme', 'globex', 'initech']) await fixture.bootstrap(name);
    fixture.instance('globex').sim.settings.hibernation = 'html-503';
    fixture.clock.advance(31 * MINUTE);

    const response = await fixture.handler()(scheduled);

    const byInstance = Object.fromEntries(response.results.map((r) => [r.instance, r.outcome]));
    expect(byInstance).toEqual({ acme: 'refreshed', globex: 'unavailable', initech: 'refreshed' });
  });
});

describe('gateway answers the refresher must read right', () => {
  it('takes an RFC 6749 invalid_grant as a refused refresh token, names the error and "snow-token renew", and does not retry it', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    fixture.clock.advance(DAY);
    fixture.instance().sim.addFault({
      fault: { kind: 'oauth-error', error: 'invalid_grant', description: 'Refresh token revoked' },
      times: Number.POSITIVE_INFINITY,
    });
    const before = fixture.sim.count({ path: '/oauth_token.do' });

    const response = await fixture.handler()(force());

    const [result] = response.results;
    expect(result).toMatchObject({ outcome: 'refresh-token-rejected' });
    expect(result?.detail).toMatch(/invalid_grant/);
    expect(result?.detail).toMatch(/snow-token renew acme/);
    expect(fixture.sim.count({ path: '/oauth_token.do' }) - before).toBe(1);
    expect((await fixture.instanceState())?.lastOutcomeDetail).toMatch(/snow-token renew acme/);
  });

  it.each(['error.message', 'error_description', 'html', 'header'] as const)(
    'keeps the secrets an answer quotes back (in %s) out of the response, the state and the log',
    async (where) => {
      fixture = await RefresherFixture.create();
      await fixture.bootstrap();
      fixture.clock.advance(DAY);
      fixture
        .instance()
        .sim.addFault({ fault: { kind: 'echo-secrets', where }, times: Number.POSITIVE_INFINITY });
      const credentials = await fixture.credentials();

      const response = await fixture.handler()(force());

      expect(response.results[0]?.outcome).not.toBe('refreshed');
      const everywhere = [
        JSON.stringify(response),
        JSON.stringify(await fixture.instanceState()),
        fixture.logs.text(),
      ].join('\n');
      for (const secret of [
        credentials?.clientSecret,
        credentials?.refreshToken,
        ...fixture.secretValues(),
      ]) {
        expect(everywhere).not.toContain(secret);
      }
    },
  );
});

describe('Retry-After is binding', () => {
  it.each(['seconds', 'http-date'] as const)(
    'sends at most one token request in a 429 window (Retry-After as %s), across scheduled and forced runs, and reports the token lapsing first',
    async (retryAfter) => {
      fixture = await RefresherFixture.create();
      await fixture.bootstrap();
      // The stored token is due for refresh, and lapses inside the window.
      const expiresAt = (await fixture.instanceState())?.accessTokenExpiresAt ?? 0;
      fixture.clock.advanceTo(expiresAt - 2 * MINUTE);
      const from = fixture.clock.now();
      const until = from + 10 * MINUTE;
      fixture.instance().sim.settings.rateLimitWindow = { until, retryAfter };
      const handler = fixture.handler();
      const warp = new TimeWarp(fixture.clock)
        .every('refresher', fixture.settings.scheduleIntervalMs, () => handler(scheduled))
        .every('sync job asking for a refresh', 45_000, () => fixture.handler()(force()));

      await warp.runFor(12 * MINUTE);

      const tokenRequests = fixture.sim.log.filter((e) => e.path === '/oauth_token.do' && e.at >= from);
      expect(tokenRequests.filter((e) => e.at < until).length).toBeLessThanOrEqual(1);
      expect(tokenRequests.some((e) => e.at >= until && e.status === 200)).toBe(true);
      const stored = await fixture.accessToken();
      expect(fixture.instance().sim.isAccessTokenValid(stored?.accessToken ?? '')).toBe(true);
      expect((await fixture.instanceState())?.notBefore).toBeUndefined();
    },
    60_000,
  );

  it('says when a stored token lapses before ServiceNow accepts another request', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const expiresAt = (await fixture.instanceState())?.accessTokenExpiresAt ?? 0;
    fixture.clock.advanceTo(expiresAt - 2 * MINUTE);
    fixture.instance().sim.settings.rateLimitWindow = { until: fixture.clock.now() + 50 * MINUTE };

    const response = await fixture.handler()(force());

    expect(response.results[0]).toMatchObject({ outcome: 'rate-limited' });
    expect(response.results[0]?.detail).toMatch(/lapses .* before/);
    expect((await fixture.instanceState())?.notBefore).toBeGreaterThan(fixture.clock.now());
  });
});
