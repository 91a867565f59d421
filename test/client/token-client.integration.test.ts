import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ServiceNowApiClient } from '../../client/servicenow-api-client';
import { type AccessToken, TokenClient } from '../../client/token-client';
import { TokenClientError } from '../../client/token-client-error';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { syncJobTokenClient } from '../../harness/token-client-fixture';
import { fingerprint } from '../../lambda/shared/state/instance-state';

const SECOND = 1_000;
const MINUTE = 60_000;
const DAY = 86_400_000;

let fixture: RefresherFixture;
const errors: unknown[] = [];
afterEach(async () => {
  // Whatever a test did, no token or other secret value may appear in a log line or an error.
  const logged = fixture.logs.text();
  await fixture.close();
  const seen = `${logged}\n${errors.map((e) => `${(e as Error).message} ${JSON.stringify(e)}`).join('\n')}`;
  errors.length = 0;
  for (const secret of fixture.secretValues()) expect(seen).not.toContain(secret);
});

async function failure(promise: Promise<unknown>): Promise<TokenClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  errors.push(error);
  expect(error).toBeInstanceOf(TokenClientError);
  return error as TokenClientError;
}

describe('token client against the simulator and the local AWS emulator', () => {
  it('serves 10 000 concurrent getToken() calls with exactly one secret read', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const { tokens, reads, invocations } = syncJobTokenClient(fixture);

    const results = await Promise.all(Array.from({ length: 10_000 }, () => tokens.getToken()));

    expect(reads.count).toBe(1);
    expect(invocations).toHaveLength(0);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    expect(fixture.instance().sim.isAccessTokenValid(results[0]?.accessToken ?? '')).toBe(true);
  });

  it('answers from memory while the cached token is valid for the minimum', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const { tokens, reads } = syncJobTokenClient(fixture);
    const first = await tokens.getToken();

    fixture.clock.advance(20 * MINUTE);
    const later = await tokens.getToken();

    expect(later.accessToken).toBe(first.accessToken);
    expect(reads.count).toBe(1);
  });

  it('hands out no expired or too-short token while tokens cross their expiry', async () => {
    // 'current-remaining': ServiceNow hands back the current token until it lapses (the hard case).
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-remaining' } }],
    });
    await fixture.bootstrap();
    const { sim } = fixture.instance();
    const { tokens, reads, invocations } = syncJobTokenClient(fixture);
    const violations: string[] = [];
    const seen = new Set<string>();
    const minimums = [0, undefined, 5 * MINUTE];
    let calls = 0;
    const check = (token: AccessToken, minValidityMs = 60 * SECOND) => {
      calls++;
      seen.add(token.accessToken);
      const left = (sim.accessToken(token.accessToken)?.expiresAt ?? 0) - fixture.clock.now();
      if (!sim.isAccessTokenValid(token.accessToken)) violations.push(`expired token at call ${calls}`);
      else if (left < minValidityMs) violations.push(`${left} ms left < ${minValidityMs} at call ${calls}`);
    };

    // Two and a half token lifetimes (1800 s each), 20 callers every 7 simulated seconds.
    const end = fixture.clock.now() + 75 * MINUTE;
    while (fixture.clock.now() < end) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const minValidityMs = minimums[i % minimums.length];
          return tokens
            .getToken(minValidityMs === undefined ? {} : { minValidityMs })
            .then((token) => check(token, minValidityMs));
        }),
      );
      fixture.clock.advance(7 * SECOND);
    }

    expect(violations).toEqual([]);
    expect(seen.size).toBeGreaterThanOrEqual(3);
    // Bounded work: a handful of reads and refresh requests per token lifetime, not one per call.
    expect(calls).toBeGreaterThan(10_000);
    expect(reads.count).toBeLessThan(20);
    expect(invocations.length).toBeLessThan(10);
  });

  it('asks the refresher once for a stored token below the minimum, and returns the new one', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'new-token' } }],
    });
    await fixture.bootstrap();
    const stored = await fixture.accessToken();
    const { tokens, invocations } = syncJobTokenClient(fixture);
    fixture.clock.advance(10 * MINUTE);

    const token = await tokens.getToken({ minValidityMs: 25 * MINUTE });

    // Only the fingerprint of the token it saw travels: the refresher replaces that token alone.
    expect(invocations.map((i) => i.payload)).toEqual([
      { action: 'refresh', instance: 'acme', fingerprint: fingerprint(stored?.accessToken ?? '') },
    ]);
    expect(token.accessToken).not.toBe(stored?.accessToken);
    expect(fixture.instance().sim.isAccessTokenValid(token.accessToken)).toBe(true);
  });

  it('tells a caller that asks for more than a token ever lives to ask for less', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'new-token' } }],
    });
    await fixture.bootstrap();
    const { tokens, invocations } = syncJobTokenClient(fixture);

    const error = await failure(tokens.getToken({ minValidityMs: 60 * MINUTE }));

    expect(error.code).toBe('validity-unreachable');
    expect(error.message).toMatch(
      /valid for 1\d{3} s, less than the 3605 s asked for.*access token lifespan/,
    );
    expect(invocations).toHaveLength(1);
  });

  it('says to run snow-token renew when the refresher reports the refresh token expired', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const { tokens } = syncJobTokenClient(fixture);
    fixture.clock.advance(101 * DAY);

    const error = await failure(tokens.getToken());

    expect(error.code).toBe('refresh-failed');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(
      /refresher reported refresh-token-expired .*snow-token renew acme.* for acme/,
    );
  });

  it('names the broken field of a secret that does not parse, never its value, and caches nothing', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const good = await fixture.accessToken();
    const secretId = fixture.instance().config.accessTokenSecretId;
    await fixture.secrets.write(secretId, { ...good, expiresAt: 'next tuesday' });
    const { tokens, reads } = syncJobTokenClient(fixture);

    const error = await failure(tokens.getToken());
    await fixture.secrets.write(secretId, good);
    const token = await tokens.getToken();

    expect(error.code).toBe('secret-invalid');
    expect(error.message).toMatch(/expiresAt/);
    expect(error.message).not.toContain('next tuesday');
    expect(token.accessToken).toBe(good?.accessToken);
    expect(reads.count).toBe(2);
  });

  it('refuses to hand out a token for a host other than the pinned one, and sends it nowhere', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const good = await fixture.accessToken();
    const elsewhere = await fixture.sim.addInstance('elsewhere');
    await fixture.secrets.write(fixture.instance().config.accessTokenSecretId, {
      ...good,
      instanceUrl: elsewhere.url,
    });
    const { tokens, invocations } = syncJobTokenClient(fixture);
    const api = new ServiceNowApiClient({ tokens, dispatcher: fixture.dispatcher });

    const error = await failure(tokens.getToken());
    const call = await api
      .get('/api/now/table/sys_user?sysparm_limit=1', z.unknown())
      .catch((e: unknown) => e);

    expect(error.code).toBe('host-mismatch');
    expect(error.message).toContain(`not ${new URL(fixture.instance().config.url).origin}`);
    expect(error.message).not.toContain(good?.accessToken);
    expect(call).toBeInstanceOf(TokenClientError);
    expect(invocations).toHaveLength(0);
    expect(fixture.sim.count({ instance: 'elsewhere' })).toBe(0);
  });

  it('refuses a secret that names a plain-http host, even unpinned', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const good = await fixture.accessToken();
    await fixture.secrets.write(fixture.instance().config.accessTokenSecretId, {
      ...good,
      instanceUrl: 'http://acme.service-now.com',
    });
    const tokens = new TokenClient({
      instance: 'acme',
      secretId: fixture.instance().config.accessTokenSecretId,
      secrets: new SecretsManagerClient(localAwsConfig()),
      refresher: { requestRefresh: () => Promise.reject(new Error('not asked')) },
      clock: fixture.clock,
    });

    const error = await failure(tokens.getToken());

    expect(error.code).toBe('secret-invalid');
    expect(error.message).toMatch(/must use https/);
  });

  it('reports a refresher that fails as a function error, with what it said', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    // An instance name the refresher does not know: the function throws.
    const { tokens } = syncJobTokenClient(fixture, { askFor: 'not-configured' });
    fixture.clock.advance(31 * MINUTE);

    const error = await failure(tokens.getToken());

    expect(error.code).toBe('refresh-request-failed');
    expect(error.message).toMatch(
      /refresher function .* failed \(Unhandled\).*no instance named \\"not-configured\\"/,
    );
  });

  it('shares one failure among concurrent callers instead of asking the refresher for each', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const { tokens, invocations } = syncJobTokenClient(fixture);
    fixture.clock.advance(101 * DAY);

    const settled = await Promise.allSettled(Array.from({ length: 500 }, () => tokens.getToken()));

    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(invocations).toHaveLength(1);
  });

  it('waits for the writer that holds the lease, re-reading rather than invoking again', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const { tokens, invocations, secrets, reads } = syncJobTokenClient(fixture);
    fixture.clock.advance(31 * MINUTE);
    await fixture.state.acquireLease('acme', 'refresher/scheduled', fixture.clock.now(), 90 * SECOND);
    // The scheduled run finishes while the client waits: just before the client's third read.
    secrets.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetSecretValueCommand' && reads.count === 3) {
          await fixture.state.releaseLease('acme', 'refresher/scheduled');
          await fixture.handler()({ action: 'refresh', instances: ['acme'], force: true });
        }
        return next(args);
      },
      { step: 'initialize', name: 'scheduledRunFinishes' },
    );

    const token = await tokens.getToken();

    expect(fixture.instance().sim.isAccessTokenValid(token.accessToken)).toBe(true);
    expect(invocations).toHaveLength(1);
    expect(reads.count).toBe(3);
  });

  it('gives up after the wait when the lease holder never delivers, saying what the refresher reported', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const { tokens, invocations, reads } = syncJobTokenClient(fixture);
    fixture.clock.advance(31 * MINUTE);
    await fixture.state.acquireLease('acme', 'refresher/stuck', fixture.clock.now(), 10 * MINUTE);

    const error = await failure(tokens.getToken());

    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/within 30 s \(the refresher last reported busy\).*snow-token status acme/);
    expect(invocations).toHaveLength(1);
    expect(reads.count).toBeLessThan(25);
  });

  it('still serves a short need when a longer one in flight fails', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'new-token' } }],
    });
    await fixture.bootstrap();
    const { tokens } = syncJobTokenClient(fixture);

    const [long, short] = await Promise.allSettled([
      tokens.getToken({ minValidityMs: 60 * MINUTE }),
      tokens.getToken({ minValidityMs: MINUTE }),
    ]);

    expect(long.status).toBe('rejected');
    errors.push(long.status === 'rejected' ? long.reason : undefined);
    expect(
      short.status === 'fulfilled' && fixture.instance().sim.isAccessTokenValid(short.value.accessToken),
    ).toBe(true);
  });
});
