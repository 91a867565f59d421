import { afterEach, describe, expect, it } from 'vitest';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import { fingerprint } from '../../../lambda/shared/state/instance-state';
import { DEFAULT_REFRESH_REQUESTS_PER_MINUTE } from '../../../lambda/shared/state/refresh-request-limit';

const MINUTE = 60_000;
const tokenRequests = (f: RefresherFixture, instance = 'acme') =>
  f.sim.count({ path: '/oauth_token.do', instance });

let fixture: RefresherFixture;
afterEach(async () => {
  const logged = fixture.logs.text();
  await fixture.close();
  for (const secret of fixture.secretValues()) expect(logged).not.toContain(secret);
});

/** The deployed refresher as a sync job with lambda:InvokeFunction reaches it: a new execution environment each time. */
function deployedHandler(f: RefresherFixture) {
  return f.handler({ invokers: 'anyone-with-invoke' });
}

/** What a sync job sends through lambda:InvokeFunction: the payload goes through JSON, as Lambda's would. */
const invoke = (handler: ReturnType<typeof deployedHandler>, payload: unknown) =>
  handler(JSON.parse(JSON.stringify(payload)));

async function bootstrapped(names: string[] = ['acme']) {
  fixture = await RefresherFixture.create({ instances: names.map((name) => ({ name })) });
  for (const name of names) {
    fixture.instance(name).sim.settings.earlyRefreshMode = 'new-token';
    await fixture.bootstrap(name);
  }
  fixture.sim.clearLog();
  return fixture;
}

describe('refresh requests from sync jobs, against the simulator and the local AWS emulator', () => {
  it('replaces the token the sync job saw fail, and answers only for that instance', async () => {
    const f = await bootstrapped(['acme', 'beta']);
    const seen = await f.accessToken('acme');

    const response = await invoke(deployedHandler(f), {
      action: 'refresh',
      instance: 'acme',
      fingerprint: fingerprint(seen?.accessToken ?? ''),
    });

    expect(response.results).toEqual([expect.objectContaining({ instance: 'acme', outcome: 'refreshed' })]);
    expect((await f.accessToken('acme'))?.accessToken).not.toBe(seen?.accessToken);
    expect(tokenRequests(f, 'beta')).toBe(0);
  });

  it('hands back the current token without a token request when the stored one already differs', async () => {
    const f = await bootstrapped();
    const stored = await f.accessToken();

    const response = await invoke(deployedHandler(f), {
      action: 'refresh',
      instance: 'acme',
      fingerprint: fingerprint('a token that is no longer stored'),
    });

    expect(response.results).toEqual([
      {
        instance: 'acme',
        outcome: 'token-changed',
        detail: expect.stringContaining('read the access-token secret again'),
        accessTokenExpiresAt: stored?.expiresAt,
      },
    ]);
    expect(tokenRequests(f)).toBe(0);
    // No request was spent: the next real one still goes through.
    const next = await invoke(deployedHandler(f), {
      action: 'refresh',
      instance: 'acme',
      fingerprint: fingerprint(stored?.accessToken ?? ''),
    });
    expect(next.results[0]?.outcome).toBe('refreshed');
  });

  it('lets no more than the per-minute limit of token requests through, from any number of execution environments', async () => {
    const f = await bootstrapped();
    const outcomes: string[] = [];
    // From the start of a clock minute, so that most of the run falls in one.
    f.clock.advanceTo(Math.ceil(f.clock.now() / MINUTE) * MINUTE);
    const start = f.clock.now();

    // A sync job that always names the token it has just read, 60 times in one minute.
    for (let call = 0; call < 60; call++) {
      const seen = await f.accessToken();
      const response = await invoke(deployedHandler(f), {
        action: 'refresh',
        instance: 'acme',
        fingerprint: fingerprint(seen?.accessToken ?? ''),
      });
      outcomes.push(...response.results.map((r) => r.outcome));
      await f.clock.sleep(500);
    }

    // Real time flows under the virtual clock, so the run may span two clock minutes: judge each.
    const minutes = new Map<number, number>();
    for (let minute = Math.floor(start / MINUTE); minute <= Math.floor(f.clock.now() / MINUTE); minute++) {
      const inMinute = f.sim.count(
        (e) => e.path === '/oauth_token.do' && Math.floor(e.at / MINUTE) === minute,
      );
      minutes.set(minute, inMinute);
    }
    expect(Math.max(...minutes.values())).toBeLessThanOrEqual(DEFAULT_REFRESH_REQUESTS_PER_MINUTE);
    expect(tokenRequests(f)).toBeLessThanOrEqual(DEFAULT_REFRESH_REQUESTS_PER_MINUTE * minutes.size);
    expect(outcomes.filter((o) => o === 'refreshed').length).toBeGreaterThanOrEqual(
      DEFAULT_REFRESH_REQUESTS_PER_MINUTE,
    );
    expect(outcomes.filter((o) => o === 'request-limited').length).toBeGreaterThan(50);
    // The next minute has its own allowance.
    await f.clock.sleep(MINUTE);
    const seen = await f.accessToken();
    const later = await invoke(deployedHandler(f), {
      action: 'refresh',
      instance: 'acme',
      fingerprint: fingerprint(seen?.accessToken ?? ''),
    });
    expect(later.results[0]?.outcome).toBe('refreshed');
  });

  it('cannot refresh another instance: its own token does not name the other one', async () => {
    const f = await bootstrapped(['acme', 'beta']);
    const own = await f.accessToken('acme');
    const other = await f.accessToken('beta');

    for (let call = 0; call < 10; call++) {
      const response = await invoke(deployedHandler(f), {
        action: 'refresh',
        instance: 'beta',
        fingerprint: fingerprint(own?.accessToken ?? ''),
      });
      expect(response.results).toEqual([
        expect.objectContaining({ instance: 'beta', outcome: 'token-changed' }),
      ]);
    }

    expect(tokenRequests(f, 'beta')).toBe(0);
    expect((await f.accessToken('beta'))?.accessToken).toBe(other?.accessToken);
  });

  it('refuses forced and every-instance requests from invokers, pointing at the CLI', async () => {
    const f = await bootstrapped(['acme', 'beta']);
    const handler = deployedHandler(f);

    for (const payload of [
      { action: 'refresh', force: true },
      { action: 'refresh', instances: ['acme'], force: true },
      { action: 'refresh', instances: ['acme', 'beta'] },
    ]) {
      await expect(invoke(handler, payload)).rejects.toThrow(/snow-token refresh <instance>/);
    }
    expect(tokenRequests(f, 'acme') + tokenRequests(f, 'beta')).toBe(0);
  });

  it('names no configured instance when refusing an unknown one', async () => {
    const f = await bootstrapped(['acme', 'beta']);

    const refused = invoke(deployedHandler(f), { action: 'refresh', instance: 'gamma' });

    await expect(refused).rejects.toThrow(/no instance named "gamma"/);
    await expect(refused).rejects.not.toThrow(/acme|beta/);
  });

  it("answers an invoker's schedule-like event without any instance's outcome", async () => {
    const f = await bootstrapped(['acme', 'beta']);
    await f.clock.sleep(40 * MINUTE);

    const response = await invoke(deployedHandler(f), { source: 'aws.events' });

    expect(response.results).toEqual([]);
    // It still did the scheduled work (nothing forced: the tokens were due).
    expect(tokenRequests(f, 'acme')).toBe(1);
  });
});
