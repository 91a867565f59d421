import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ServiceNowApiClient } from '../../client/servicenow-api-client';
import { closeFindingLoggedSecrets } from '../../harness/logged-secrets';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { syncJobTokenClient } from '../../harness/token-client-fixture';
import { createServiceNowAgent } from '../../lambda/shared/servicenow/servicenow-client';

const USERS_PATH = '/api/now/table/sys_user?sysparm_fields=sys_id,user_name';
const usersSchema = z.object({ result: z.array(z.object({ sys_id: z.string(), user_name: z.string() })) });
const force = { action: 'refresh', instances: ['acme'], force: true };

let fixture: RefresherFixture;
afterEach(async () => {
  expect(await closeFindingLoggedSecrets(fixture)).toEqual([]);
});

async function setUp(options: Parameters<typeof RefresherFixture.create>[0] = {}) {
  fixture = await RefresherFixture.create(options);
  await fixture.bootstrap();
  const client = syncJobTokenClient(fixture);
  const agent = createServiceNowAgent();
  fixture.onClose(() => agent.close());
  const api = new ServiceNowApiClient({ tokens: client.tokens, dispatcher: agent });
  return { ...client, api };
}

function apiCalls(result?: string) {
  return fixture.sim.count(
    (e) => e.path.startsWith('/api/') && (result === undefined || e.result === result),
  );
}

describe('ServiceNow API client', () => {
  it('sends the stored bearer token and returns the parsed answer', async () => {
    const { api } = await setUp();

    const outcome = await api.get(USERS_PATH, usersSchema);

    expect(outcome).toMatchObject({ kind: 'ok', status: 200 });
    expect(outcome.kind === 'ok' && outcome.value.result).toHaveLength(3);
    expect(apiCalls('table-ok')).toBe(1);
  });

  it('after a 401, reads the secret once and retries once with the token the refresher stored', async () => {
    const { api, tokens, reads, invocations } = await setUp();
    const held = await tokens.getToken();
    // Revoked at the instance; the refresher has already stored a new one, the job still holds the old.
    fixture.instance().sim.revoke(held.accessToken);
    await fixture.handler()(force);
    const readsBefore = reads.count;

    const outcome = await api.get(USERS_PATH, usersSchema);

    expect(outcome.kind).toBe('ok');
    expect(reads.count - readsBefore).toBe(1);
    expect(apiCalls('unauthenticated')).toBe(1);
    expect(apiCalls('table-ok')).toBe(1);
    expect(invocations).toHaveLength(0);
  });

  it('after a 401 with the refused token still stored, asks the refresher once, then retries once', async () => {
    const { api, tokens, reads, invocations } = await setUp();
    const held = await tokens.getToken();
    fixture.instance().sim.revoke(held.accessToken);
    const readsBefore = reads.count;

    const outcome = await api.get(USERS_PATH, usersSchema);

    expect(outcome.kind).toBe('ok');
    expect(invocations).toHaveLength(1);
    // One read finds the refused token, one after the refresh finds the new one.
    expect(reads.count - readsBefore).toBe(2);
    expect(apiCalls('unauthenticated')).toBe(1);
    expect(apiCalls('table-ok')).toBe(1);
  });

  it('returns a second 401 as unauthorized instead of retrying again', async () => {
    const { api } = await setUp({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'new-token' } }],
    });
    fixture.instance().sim.addFault({ path: '/api/', fault: { kind: 'status', status: 401 }, times: 2 });

    const outcome = await api.get(USERS_PATH, usersSchema);

    expect(outcome.kind).toBe('unauthorized');
    expect(apiCalls()).toBe(2);
  });

  it('shares one re-read among concurrent requests that all see a 401', async () => {
    const { api, tokens, reads } = await setUp();
    const held = await tokens.getToken();
    fixture.instance().sim.revoke(held.accessToken);
    await fixture.handler()(force);
    const readsBefore = reads.count;

    const outcomes = await Promise.all(Array.from({ length: 50 }, () => api.get(USERS_PATH, usersSchema)));

    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true);
    expect(reads.count - readsBefore).toBe(1);
  });

  it('reports a hibernating instance as unavailable, as the refresher does', async () => {
    const { api } = await setUp();
    fixture.instance().sim.settings.hibernation = 'html-200';

    const outcome = await api.get(USERS_PATH, usersSchema);

    expect(outcome).toMatchObject({ kind: 'unavailable', reason: 'hibernating' });
  });

  it('sends nothing to the instance before a 429 Retry-After has passed, then sends again', async () => {
    const { tokens } = await setUp();
    const agent = createServiceNowAgent();
    fixture.onClose(() => agent.close());
    const api = new ServiceNowApiClient({ tokens, dispatcher: agent, clock: fixture.clock });
    const until = fixture.clock.now() + 3 * 60_000;
    fixture.instance().sim.settings.rateLimitWindow = { until };

    const first = await api.get(USERS_PATH, usersSchema);
    fixture.clock.advance(60_000);
    const second = await api.get(USERS_PATH, usersSchema);
    const callsInWindow = apiCalls();
    fixture.clock.advanceTo(until + 1_000);
    const after = await api.get(USERS_PATH, usersSchema);

    expect(first.kind).toBe('rate-limited');
    expect(second).toMatchObject({
      kind: 'rate-limited',
      retryAt: first.kind === 'rate-limited' ? first.retryAt : 0,
    });
    expect(callsInWindow).toBe(1);
    expect(after.kind).toBe('ok');
  });

  it('refuses a path that would send the token to another host', async () => {
    const { api } = await setUp();

    await expect(api.get('//attacker.example/api/now/table/sys_user', usersSchema)).rejects.toThrow(
      /leaves the instance/,
    );
    expect(apiCalls()).toBe(0);
  });
});
