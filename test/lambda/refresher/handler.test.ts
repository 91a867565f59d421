import { afterEach, describe, expect, it, vi } from 'vitest';
import { pointEnvironmentAtLocalAws } from '../../support/local-aws/aws-env';
import { RefresherFixture } from '../../support/refresher-fixture';

const lambdaContext = {
  awsRequestId: 'req-1',
  functionName: 'refresher',
  getRemainingTimeInMillis: () => 120_000,
} as never;

let fixture: RefresherFixture | undefined;
const saved = { ...process.env };
afterEach(async () => {
  await fixture?.close();
  process.env = { ...saved };
  vi.resetModules();
});

async function loadHandler(env: Record<string, string>) {
  pointEnvironmentAtLocalAws();
  Object.assign(process.env, env);
  vi.resetModules();
  return (await import('../../../lambda/refresher/handler')).handler;
}

describe('the deployed refresher handler (environment, real clock, real SDK clients)', () => {
  it('refreshes on a forced invocation with the environment the construct sets', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const before = await fixture.accessToken();
    fixture.instance().sim.settings.earlyRefreshMode = 'new-token';
    const handler = await loadHandler({
      STATE_TABLE_NAME: fixture.aws.tableName,
      INSTANCES: JSON.stringify([fixture.instance().config]),
    });

    const response = await handler({ action: 'refresh', instances: ['acme'], force: true }, lambdaContext);

    expect(response.results).toEqual([expect.objectContaining({ instance: 'acme', outcome: 'refreshed' })]);
    const after = await fixture.accessToken();
    expect(after?.accessToken).not.toBe(before?.accessToken);
  });

  it.each([
    [{ INSTANCES: '[]' }, /STATE_TABLE_NAME/],
    [{ STATE_TABLE_NAME: 't' }, /set INSTANCES_FILE or INSTANCES/],
    [{ STATE_TABLE_NAME: 't', INSTANCES_FILE: '/nonexistent/instances.json' }, /cannot read INSTANCES_FILE/],
    [{ STATE_TABLE_NAME: 't', INSTANCES: 'not json' }, /INSTANCES: \(list\): is not valid JSON/],
    [{ STATE_TABLE_NAME: 't', INSTANCES: '[{"name":"Bad Name","url":"http://x"}]' }, /INSTANCES: 0\.name/],
    [
      {
        STATE_TABLE_NAME: 't',
        INSTANCES:
          '[{"name":"acme","url":"http://acme.service-now.com","credentialsSecretId":"c","accessTokenSecretId":"a"}]',
      },
      /INSTANCES: 0\.url: use https/,
    ],
  ])('fails at load with a message naming the bad variable (%o)', async (env, message) => {
    delete process.env.STATE_TABLE_NAME;
    delete process.env.INSTANCES;
    delete process.env.INSTANCES_FILE;

    await expect(loadHandler(env)).rejects.toThrow(message);
    await expect(loadHandler(env)).rejects.toThrow(/redeploy the stack/);
  });
});
