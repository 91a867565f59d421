import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryAlerting } from '../../../harness/alerting-harness';
import { InMemoryRefresherFixture } from '../../../harness/refresher-fixture';
import type { TokenEndpoint } from '../../../lambda/refresher/refresh-instance';
import type { InstanceConfig } from '../../../lambda/shared/instance-config';
import type { SecretStore } from '../../../lambda/shared/secrets/secret-store';
import { fingerprint, type StatePatch } from '../../../lambda/shared/state/instance-state';
import type { StateStore } from '../../../lambda/shared/state/state-store';

/**
 * The refresher's branches, run on the in-memory stores (held to DynamoDB and Secrets Manager by
 * their contract suites) against the ServiceNow simulator on loopback: no emulator. The same
 * behaviours against the emulator are in the *.integration.test.ts beside this file.
 */
const MINUTE = 60_000;
const DAY = 86_400_000;
const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event' };
const force = (instance = 'acme') => ({ action: 'refresh', instances: [instance], force: true });

let fixture: InMemoryRefresherFixture;
afterEach(async () => {
  // Whatever a test did, no secret value may appear in what the system logged.
  const leaked = fixture.leakedSecrets();
  await fixture.close();
  expect(leaked).toEqual([]);
});

function awsFailure(): Error {
  return Object.assign(new Error('injected: We encountered an internal error'), {
    name: 'InternalServerError',
  });
}

/** The store, with the first commit whose patch matches failing as an AWS error would. */
function failingCommit(store: StateStore, when: (patch: StatePatch) => boolean): StateStore {
  let armed = true;
  return Object.assign(Object.create(store) as StateStore, {
    commit: async (...args: Parameters<StateStore['commit']>) => {
      if (armed && when(args[2])) {
        armed = false;
        throw awsFailure();
      }
      return store.commit(...args);
    },
  });
}

/** The store, with the next write to one secret failing as an AWS error would. */
function failingWrite(store: SecretStore, secretId: string): SecretStore {
  let armed = true;
  return Object.assign(Object.create(store) as SecretStore, {
    write: async (id: string, value: unknown) => {
      if (armed && id === secretId) {
        armed = false;
        throw awsFailure();
      }
      return store.write(id, value);
    },
  });
}

async function expectValidStoredToken(name = 'acme') {
  const stored = await fixture.accessToken(name);
  const sim = fixture.instance(name).sim;
  expect(sim.isAccessTokenValid(stored?.accessToken ?? '')).toBe(true);
  // Never a validity longer than ServiceNow's.
  expect(Date.parse(stored?.expiresAt ?? '')).toBeLessThanOrEqual(
    sim.accessToken(stored?.accessToken ?? '')?.expiresAt ?? 0,
  );
  const state = await fixture.instanceState(name);
  expect(state).toMatchObject({
    accessTokenExpiresAt: Date.parse(stored?.expiresAt ?? ''),
    accessTokenFingerprint: fingerprint(stored?.accessToken ?? ''),
  });
  expect(state?.intentOpenSince).toBeUndefined();
  expect(state?.leaseOwner).toBeUndefined();
}

describe('a refresh that succeeds', () => {
  it('stores a new access token once the stored one is due, and records a healthy state', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    const before = await fixture.accessToken();
    fixture.clock.advance(31 * MINUTE);

    const response = await fixture.handler()(scheduled);

    expect(response.results).toEqual([expect.objectContaining({ instance: 'acme', outcome: 'refreshed' })]);
    expect((await fixture.accessToken())?.accessToken).not.toBe(before?.accessToken);
    await expectValidStoredToken();
    expect(await fixture.instanceState()).toMatchObject({ lastOutcome: 'refreshed', consecutiveFailures: 0 });
  });

  it('asks ServiceNow nothing while the stored token is fresh', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    const calls = fixture.sim.log.length;
    const handler = fixture.handler();

    const first = await handler(scheduled);
    fixture.clock.advance(10 * MINUTE);
    const second = await handler(scheduled);

    expect(fixture.sim.log.length).toBe(calls);
    expect([...first.results, ...second.results]).toEqual([]);
  });

  it('keeps the stored expiry when an early refresh hands back the current token, and learns to wait for its lapse', async () => {
    fixture = await InMemoryRefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-full' } }],
    });
    await fixture.bootstrap();
    const before = await fixture.accessToken();
    fixture.clock.advance(26 * MINUTE);

    const response = await fixture.handler()(scheduled);

    expect(response.results).toEqual([
      expect.objectContaining({ outcome: 'current-token-returned', accessTokenExpiresAt: before?.expiresAt }),
    ]);
    expect(await fixture.accessToken()).toEqual(before);
    expect(await fixture.instanceState()).toMatchObject({
      lastOutcome: 'current-token-returned',
      echoesEarlyRefresh: true,
      accessTokenExpiresAt: Date.parse(before?.expiresAt ?? ''),
    });
  });

  /**
   * acme hands back the current token early, so the refresher waits in-process for its lapse (at
   * start + 30 min); the run half a minute before also finds globex due. Returns that run's figures.
   */
  async function lapseWhileGlobexIsDue(
    options: {
      readonly globexDelayMs?: number;
      readonly timerEarlyMs?: number;
      readonly failStateRead?: boolean;
    } = {},
  ) {
    fixture = await InMemoryRefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-full' } }, { name: 'globex' }],
    });
    const start = fixture.clock.now();
    await fixture.bootstrap('acme');
    fixture.clock.advance(4 * MINUTE);
    await fixture.bootstrap('globex');
    const direct = fixture.deps().tokenEndpoint;
    const clock = fixture.clock;
    let inRun = false;
    let acmeGrants = 0;
    const state = fixture.state;
    const handler = fixture.handler({
      state: Object.assign(Object.create(state) as StateStore, {
        getMany: async (names: readonly string[]) => {
          if (inRun && options.failStateRead) throw awsFailure();
          return state.getMany(names);
        },
      }),
      // Node's timers may fire a millisecond early.
      clock: {
        now: () => clock.now(),
        sleep: (ms) => clock.sleep(Math.max(0, ms - (options.timerEarlyMs ?? 0))),
      },
      tokenEndpoint: (instance) => ({
        requestToken: async (grant) => {
          if (inRun && instance.name === 'acme') acmeGrants++;
          const outcome = await direct(instance).requestToken(grant);
          if (inRun && instance.name === 'globex' && options.globexDelayMs) {
            // A late answer (a slow body): the run spends that long on globex.
            await new Promise((r) => setTimeout(r, 50));
            await clock.sleep(options.globexDelayMs);
          }
          return outcome;
        },
      }),
    });
    clock.advanceTo(start + 26 * MINUTE);
    await handler(scheduled);
    const lapsing = await fixture.accessToken('acme');
    expect((await fixture.instanceState('acme'))?.echoesEarlyRefresh).toBe(true);

    clock.advanceTo(start + 29.5 * MINUTE);
    inRun = true;
    const run = await handler(scheduled).catch((error: Error) => error);
    inRun = false;
    const grantsInRun = acmeGrants;
    // Nothing of the run goes on once it has returned.
    await new Promise((r) => setTimeout(r, 100));
    expect(acmeGrants).toBe(grantsInRun);
    if (run instanceof Error) return { failed: run, acmeGrants };
    const sim = fixture.instance('acme').sim;
    const renewed = await fixture.accessToken('acme');
    expect(renewed?.accessToken).not.toBe(lapsing?.accessToken);
    await expectValidStoredToken('acme');
    const lapsedAt = sim.accessToken(lapsing?.accessToken ?? '')?.expiresAt ?? 0;
    const issuedAt = sim.accessToken(renewed?.accessToken ?? '')?.issuedAt ?? Number.POSITIVE_INFINITY;
    return {
      lapseMs: issuedAt - lapsedAt,
      acmeGrants,
      outcomes: run.results.map((r) => `${r.instance}:${r.outcome}`),
    };
  }

  it("refreshes a token at its lapse while another instance's grant is slow in the same run", async () => {
    const { lapseMs, acmeGrants, outcomes } = await lapseWhileGlobexIsDue({ globexDelayMs: 40_000 });
    expect(lapseMs).toBeLessThanOrEqual(5_000);
    // Once: the wait and the run's first round never both take the same instance.
    expect(acmeGrants).toBe(1);
    expect(outcomes?.filter((o) => o.startsWith('acme:'))).toEqual(['acme:refreshed']);
    expect(outcomes?.filter((o) => o.startsWith('globex:'))).toHaveLength(1);
  });

  it('leaves no wait running after a run that failed reading the state', async () => {
    const { failed, acmeGrants } = await lapseWhileGlobexIsDue({ failStateRead: true });
    expect(failed?.message).toMatch(/internal error/);
    expect(acmeGrants).toBe(0);
  });

  it('tries a run at a lapse again within the invocation when an AWS call fails', async () => {
    fixture = await InMemoryRefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-full' } }],
    });
    const start = fixture.clock.now();
    await fixture.bootstrap();
    const state = fixture.state;
    let armed = false;
    const handler = fixture.handler({
      state: Object.assign(Object.create(state) as StateStore, {
        acquireLease: async (...args: Parameters<StateStore['acquireLease']>) => {
          if (armed) {
            armed = false;
            throw awsFailure();
          }
          return state.acquireLease(...args);
        },
      }),
    });
    fixture.clock.advanceTo(start + 26 * MINUTE);
    await handler(scheduled);
    const lapsing = await fixture.accessToken();

    fixture.clock.advanceTo(start + 29.5 * MINUTE);
    armed = true;
    const run = await handler(scheduled);

    expect(armed).toBe(false);
    expect(run.results.map((r) => r.outcome)).toContain('refreshed');
    const sim = fixture.instance().sim;
    const renewed = await fixture.accessToken();
    const lapsedAt = sim.accessToken(lapsing?.accessToken ?? '')?.expiresAt ?? 0;
    const issuedAt = sim.accessToken(renewed?.accessToken ?? '')?.issuedAt ?? Number.POSITIVE_INFINITY;
    expect(issuedAt - lapsedAt).toBeLessThanOrEqual(5_000);
    await expectValidStoredToken();
  });

  it('still refreshes at the lapse when the wait wakes a millisecond early', async () => {
    const { lapseMs, acmeGrants } = await lapseWhileGlobexIsDue({ timerEarlyMs: 1 });
    expect(lapseMs).toBeLessThanOrEqual(5_000);
    expect(acmeGrants).toBe(1);
  });

  /** A refresher environment whose first run cannot write the credentials secret, after a day. */
  async function rotationNotStored() {
    fixture = await InMemoryRefresherFixture.create({
      instances: [{ name: 'acme', settings: { rotateRefreshTokens: true, earlyRefreshMode: 'new-token' } }],
    });
    await fixture.bootstrap();
    const before = await fixture.credentials();
    const credentialsId = fixture.instance().config.credentialsSecretId;
    // Secrets Manager refuses every credentials write of the first run (a long throttling window).
    let refusing = true;
    const secrets = Object.assign(Object.create(fixture.secrets) as SecretStore, {
      write: async (id: string, value: unknown) => {
        if (refusing && id === credentialsId) throw awsFailure();
        return fixture.secrets.write(id, value);
      },
    });
    const handler = fixture.handler({ secrets });
    fixture.clock.advance(DAY);
    const failed = await handler(force());
    refusing = false;
    return { before, handler, failed };
  }

  it('stores a rotated refresh token it could not write on the next run of the same environment, before any grant', async () => {
    const { before, handler, failed } = await rotationNotStored();
    expect(failed.results[0]?.outcome).toBe('refresh-token-not-stored');

    fixture.clock.advance(MINUTE);
    await handler(scheduled);

    const after = await fixture.credentials();
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(fixture.instance().sim.refreshToken(after?.refreshToken ?? '')?.revoked).toBe(false);
    await expectValidStoredToken();
  });

  it('stores a rotated refresh token it could not write from any other environment, never spending the one it replaced', async () => {
    const { before, failed } = await rotationNotStored();
    expect(failed.results[0]?.outcome).toBe('refresh-token-not-stored');
    const sealed = await fixture.instanceState();
    expect(sealed?.pendingRefreshTokenReplaces).toBe(fingerprint(before?.refreshToken ?? ''));
    // The environment that got it is gone (a cold start): a new one runs next.
    fixture.clock.advance(MINUTE);
    const next = await fixture.handler()(scheduled);

    expect(next.results[0]?.outcome).toBe('refreshed');
    const after = await fixture.credentials();
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(fixture.instance().sim.refreshToken(after?.refreshToken ?? '')?.revoked).toBe(false);
    // The state held it only sealed, and forgets it once stored.
    expect(JSON.stringify(sealed)).not.toContain(after?.refreshToken);
    const state = await fixture.instanceState();
    expect(state?.pendingRefreshToken).toBeUndefined();
    expect(state?.pendingRefreshTokenReplaces).toBeUndefined();
    expect(state?.refreshTokenFingerprint).toBe(fingerprint(after?.refreshToken ?? ''));
    await expectValidStoredToken();
  });

  it('keeps a live refresh token when an operator renewed after a rotation it could not write', async () => {
    const { handler } = await rotationNotStored();
    await fixture.bootstrap();
    const renewed = await fixture.credentials();

    fixture.clock.advance(MINUTE);
    await handler(scheduled);

    expect(fixture.instance().sim.refreshToken(renewed?.refreshToken ?? '')?.revoked).toBe(true);
    const after = await fixture.credentials();
    expect(fixture.instance().sim.refreshToken(after?.refreshToken ?? '')?.revoked).toBe(false);
    await expectValidStoredToken();
  });

  it('forgets the sealed rotated token when an operator renewed, in an environment that never saw it', async () => {
    await rotationNotStored();
    await fixture.bootstrap();
    expect((await fixture.instanceState())?.pendingRefreshToken).toBeUndefined();

    fixture.clock.advance(MINUTE);
    await fixture.handler()(force());

    const after = await fixture.credentials();
    expect(fixture.instance().sim.refreshToken(after?.refreshToken ?? '')?.revoked).toBe(false);
    await expectValidStoredToken();
  });

  it('persists a rotated refresh token with a new issue time, and the state mirrors it', async () => {
    fixture = await InMemoryRefresherFixture.create({
      instances: [{ name: 'acme', settings: { rotateRefreshTokens: true } }],
    });
    await fixture.bootstrap();
    const before = await fixture.credentials();
    fixture.clock.advance(DAY);

    const response = await fixture.handler()(force());

    expect(response.results[0]?.outcome).toBe('refreshed');
    const after = await fixture.credentials();
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(fixture.instance().sim.refreshToken(after?.refreshToken ?? '')?.revoked).toBe(false);
    expect(Date.parse(after?.refreshTokenIssuedAt ?? '')).toBeGreaterThan(
      Date.parse(before?.refreshTokenIssuedAt ?? ''),
    );
    expect(await fixture.instanceState()).toMatchObject({
      refreshTokenFingerprint: fingerprint(after?.refreshToken ?? ''),
      refreshTokenIssuedAt: Date.parse(after?.refreshTokenIssuedAt ?? ''),
    });
    await expectValidStoredToken();
  });
});

describe('a refresh that fails leaves both secrets as they were', () => {
  async function secretsNow() {
    const { config } = fixture.instance();
    return [
      await fixture.rawSecret(config.credentialsSecretId),
      await fixture.rawSecret(config.accessTokenSecretId),
    ];
  }

  it('records a refused refresh token (the opaque 401) for a person, without retrying it, and waits before the next try', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    fixture.instance().sim.revoke((await fixture.credentials())?.refreshToken ?? '');
    const before = await secretsNow();
    fixture.clock.advance(31 * MINUTE);

    const response = await fixture.handler()(force());

    expect(response.results[0]).toMatchObject({
      outcome: 'refresh-token-rejected',
      detail: expect.stringMatching(/snow-token renew acme/),
    });
    expect(fixture.sim.count({ grantType: 'refresh_token' })).toBe(1);
    expect(await secretsNow()).toEqual(before);
    const state = await fixture.instanceState();
    expect(state).toMatchObject({ lastOutcome: 'refresh-token-rejected', consecutiveFailures: 1 });
    expect(state?.nextAttemptAt).toBe((state?.lastAttemptAt ?? 0) + fixture.settings.permanentRetryMs);
  });

  it('calls a hibernating instance\'s 200 HTML page "unavailable: hibernating", not a broken token', async () => {
    fixture = await InMemoryRefresherFixture.create({ refresh: { attemptBudgetMs: 3_000 } });
    await fixture.bootstrap();
    fixture.instance().sim.settings.hibernation = 'html-200';
    const before = await secretsNow();

    const response = await fixture.handler()(force());

    expect(response.results[0]).toMatchObject({
      outcome: 'unavailable',
      detail: expect.stringMatching(/hibernating/),
    });
    expect(await secretsNow()).toEqual(before);
    expect(await fixture.instanceState()).toMatchObject({
      lastOutcome: 'unavailable',
      consecutiveFailures: 1,
    });
  });

  it.each([
    ['a 503', { kind: 'status', status: 503 }],
    ['an unusable (oversized) answer', { kind: 'huge-body', bytes: 200_000 }],
  ] as const)(
    'retries %s within the run, stores the token the second attempt gets, and does not back off',
    async (_case, fault) => {
      fixture = await InMemoryRefresherFixture.create();
      await fixture.bootstrap();
      fixture.instance().sim.addFault({ fault, path: '/oauth_token.do', times: 1 });
      fixture.clock.advance(31 * MINUTE);

      const response = await fixture.handler()(force());

      expect(response.results[0]?.outcome).toBe('refreshed');
      expect(fixture.sim.count({ path: '/oauth_token.do', grantType: 'refresh_token' })).toBe(2);
      const stored = await fixture.accessToken();
      expect(fixture.instance().sim.isAccessTokenValid(stored?.accessToken ?? '')).toBe(true);
      expect((await fixture.instanceState())?.nextAttemptAt).toBeUndefined();
    },
  );

  it('makes one attempt per run, not three, once an outage spans runs', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    fixture.instance().sim.addFault({
      fault: { kind: 'status', status: 503 },
      path: '/oauth_token.do',
      times: Number.POSITIVE_INFINITY,
    });
    fixture.clock.advance(31 * MINUTE);
    const handler = fixture.handler();
    const perRun: number[] = [];

    for (let run = 0; run < 4; run++) {
      const before = fixture.sim.count({ path: '/oauth_token.do' });
      await handler(scheduled);
      perRun.push(fixture.sim.count({ path: '/oauth_token.do' }) - before);
      fixture.clock.advance(MINUTE);
    }

    expect(perRun).toEqual([3, 3, 1, 1]);
    expect(await fixture.instanceState()).toMatchObject({
      lastOutcome: 'unavailable',
      consecutiveFailures: 4,
    });
  });
});

describe('the lease', () => {
  it('writes nothing more once another writer took the lease over while ServiceNow answered (fenced by the epoch)', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    const before = await fixture.rawSecret(fixture.instance().config.accessTokenSecretId);
    const recorded = (await fixture.instanceState())?.accessTokenFingerprint;
    fixture.clock.advance(31 * MINUTE);
    const real = fixture.deps().tokenEndpoint;
    const overtaken = (instance: InstanceConfig): TokenEndpoint => ({
      requestToken: async (grant) => {
        const outcome = await real(instance).requestToken(grant);
        // The answer arrives after the lease lapsed and a second writer took it.
        const { leaseMs } = fixture.settings;
        await fixture.state.acquireLease(
          instance.name,
          'refresher/other',
          fixture.clock.now() + leaseMs + 1,
          leaseMs,
        );
        return outcome;
      },
    });

    const response = await fixture.handler({ tokenEndpoint: overtaken })(force());

    expect(response.results[0]?.outcome).toBe('lease-lost');
    expect(await fixture.rawSecret(fixture.instance().config.accessTokenSecretId)).toBe(before);
    const state = await fixture.instanceState();
    expect(state?.leaseOwner).toBe('refresher/other');
    expect(state?.accessTokenFingerprint).toBe(recorded);
    expect(state?.intentOpenSince).toBeUndefined();
  });

  it('reports "busy" and asks ServiceNow nothing while another writer holds the lease', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    fixture.clock.advance(31 * MINUTE);
    await fixture.state.acquireLease('acme', 'cli/renew', fixture.clock.now(), fixture.settings.leaseMs);
    const calls = fixture.sim.log.length;

    const response = await fixture.handler()(force());

    expect(response.results[0]?.outcome).toBe('busy');
    expect(fixture.sim.log.length).toBe(calls);
  });
});

describe('the write-ahead intent', () => {
  it('is completed by the next run when the access-token secret holds the intended token', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    fixture.clock.advance(31 * MINUTE);
    const failing = failingCommit(fixture.state, (patch) => patch.lastOutcome === 'refreshed');

    await expect(fixture.handler({ state: failing })(scheduled)).rejects.toThrow(/AWS errors/);
    const left = await fixture.instanceState();
    const secret = await fixture.accessToken();
    const grants = fixture.sim.count({ path: '/oauth_token.do' });
    fixture.clock.advance(MINUTE);
    await fixture.handler()(scheduled);

    expect(left?.intentOpenSince).toBeDefined();
    expect(left?.intentFingerprint).toBe(fingerprint(secret?.accessToken ?? ''));
    expect(fixture.sim.count({ path: '/oauth_token.do' })).toBe(grants);
    await expectValidStoredToken();
    expect(fixture.logs.text()).toMatch(
      /finished an intent a previous writer left open.*"resolution":"completed"/,
    );
  });

  it('is dropped by the next run when the access-token secret was never written, which then refreshes', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    const before = await fixture.accessToken();
    fixture.clock.advance(31 * MINUTE);
    const failing = failingWrite(fixture.secrets, fixture.instance().config.accessTokenSecretId);

    await expect(fixture.handler({ secrets: failing })(scheduled)).rejects.toThrow(/AWS errors/);
    const left = await fixture.instanceState();
    const response = await fixture.handler()(scheduled);

    expect(left?.intentOpenSince).toBeDefined();
    expect(left?.accessTokenFingerprint).toBe(fingerprint(before?.accessToken ?? ''));
    expect(response.results[0]?.outcome).toBe('refreshed');
    await expectValidStoredToken();
    expect(fixture.logs.text()).toMatch(
      /finished an intent a previous writer left open.*"resolution":"discarded"/,
    );
  });
});

describe("a sync job's request for a new token", () => {
  const requestFor = (token: string | undefined) => ({
    action: 'refresh',
    instance: 'acme',
    ...(token !== undefined && { fingerprint: fingerprint(token) }),
  });

  it('is answered "token-changed" without a call to ServiceNow when the stored token is not the one it names', async () => {
    fixture = await InMemoryRefresherFixture.create();
    await fixture.bootstrap();
    const calls = fixture.sim.log.length;

    const response = await fixture.handler({ invokers: 'anyone-with-invoke' })(requestFor('an-older-token'));

    expect(response.results).toEqual([
      expect.objectContaining({ instance: 'acme', outcome: 'token-changed' }),
    ]);
    expect(fixture.sim.log.length).toBe(calls);
  });

  it('reaches ServiceNow at most the per-minute limit of times for one instance', async () => {
    fixture = await InMemoryRefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'new-token' } }],
    });
    await fixture.bootstrap();
    const handler = fixture.handler({ invokers: 'anyone-with-invoke' });
    const outcomes: string[] = [];

    for (let request = 0; request < 3; request++) {
      const stored = await fixture.accessToken();
      const response = await handler(requestFor(stored?.accessToken));
      outcomes.push(...response.results.map((r) => r.outcome));
    }

    expect(outcomes).toEqual(['refreshed', 'refreshed', 'request-limited']);
  });

  it('refuses a forced or multi-instance request from an invoker', async () => {
    fixture = await InMemoryRefresherFixture.create();

    await expect(fixture.handler({ invokers: 'anyone-with-invoke' })(force())).rejects.toThrow(
      /takes no forced or multi-instance requests/,
    );
  });
});

describe('what a run reports', () => {
  it('puts a Token Refreshed event on the bus for a new token, and sends no email', async () => {
    fixture = await InMemoryRefresherFixture.create();
    const alerting = new InMemoryAlerting(fixture);
    await alerting.renew();
    fixture.clock.advance(31 * MINUTE);

    await alerting.refreshHandler()(scheduled);

    expect(await alerting.emails()).toEqual([]);
    expect((await alerting.events()).map((e) => e.detailType)).toEqual(['Token Refreshed']);
  });

  it('opens one incident for a refused refresh token, and the renewal resolves it in the same thread', async () => {
    fixture = await InMemoryRefresherFixture.create();
    const alerting = new InMemoryAlerting(fixture);
    await alerting.renew();
    fixture.instance().sim.revoke((await fixture.credentials())?.refreshToken ?? '');
    const handler = alerting.refreshHandler();

    await handler(force());
    fixture.clock.advance(20 * MINUTE);
    await handler(force());
    const opened = await alerting.emails();
    await alerting.renew();
    const resolved = await alerting.emails();

    expect(opened.map((e) => e.attributes)).toEqual([
      expect.objectContaining({ kind: 'refresh', notice: 'opened', reason: 'refresh-token-rejected' }),
    ]);
    expect(resolved.map((e) => [e.subject, e.attributes.notice])).toEqual([[opened[0]?.subject, 'resolved']]);
  });
});

describe('what the refresher refuses', () => {
  it('refuses an unknown instance and an unknown event with a message that says what to send', async () => {
    fixture = await InMemoryRefresherFixture.create();
    const handler = fixture.handler();

    await expect(handler({ action: 'refresh', instances: ['nope'] })).rejects.toThrow(
      /unknown instance nope; configured: acme/,
    );
    await expect(handler({ hello: 'world' })).rejects.toThrow(/unrecognised event/);
  });
});
