import { afterEach, describe, expect, it, vi } from 'vitest';
import { AlertingHarness } from '../../../harness/alerting-harness';
import { pointEnvironmentAtLocalAws } from '../../../harness/local-aws/aws-env';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import { fingerprint } from '../../../lambda/shared/state/instance-state';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:alerts';
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
  it("refreshes on a sync job's request for the token it saw, with the environment the construct sets", async () => {
    fixture = await RefresherFixture.create();
    const alerting = await AlertingHarness.create(fixture);
    await fixture.bootstrap();
    const before = await fixture.accessToken();
    fixture.instance().sim.settings.earlyRefreshMode = 'new-token';
    const handler = await loadHandler({
      STATE_TABLE_NAME: fixture.aws.tableName,
      INSTANCES: JSON.stringify([fixture.instance().config]),
      ALERT_TOPIC_ARN: alerting.topicArn,
      EVENT_BUS_NAME: alerting.busName,
    });

    const request = {
      action: 'refresh',
      instance: 'acme',
      fingerprint: fingerprint(before?.accessToken ?? ''),
    };
    const response = await handler(request, lambdaContext);

    expect(response.results).toEqual([expect.objectContaining({ instance: 'acme', outcome: 'refreshed' })]);
    const after = await fixture.accessToken();
    expect(after?.accessToken).not.toBe(before?.accessToken);
    expect((await alerting.events()).map((e) => e.detailType)).toEqual(['Token Refreshed']);
  });

  it('refuses a forced invocation: operators force a refresh with the CLI', async () => {
    fixture = await RefresherFixture.create();
    const alerting = await AlertingHarness.create(fixture);
    await fixture.bootstrap();
    const handler = await loadHandler({
      STATE_TABLE_NAME: fixture.aws.tableName,
      INSTANCES: JSON.stringify([fixture.instance().config]),
      ALERT_TOPIC_ARN: alerting.topicArn,
      EVENT_BUS_NAME: alerting.busName,
    });

    const forced = handler({ action: 'refresh', instances: ['acme'], force: true }, lambdaContext);

    await expect(forced).rejects.toThrow(/snow-token refresh <instance>/);
    expect(fixture.sim.count({ path: '/oauth_token.do', grantType: 'refresh_token' })).toBe(0);
  });

  it.each([
    ['probe', { REFRESHER_FUNCTION_NAME: 'refresher' }, 'reports'],
    ['expiry-watch', { EXPIRY_WARNING_DAYS: '30,7' }, 'reports'],
  ] as const)(
    "the %s handler loads with the construct's environment and runs one cycle",
    async (name, extra, key) => {
      fixture = await RefresherFixture.create();
      const alerting = await AlertingHarness.create(fixture);
      await fixture.bootstrap();
      pointEnvironmentAtLocalAws();
      Object.assign(process.env, {
        STATE_TABLE_NAME: fixture.aws.tableName,
        INSTANCES: JSON.stringify([fixture.instance().config]),
        ALERT_TOPIC_ARN: alerting.topicArn,
        EVENT_BUS_NAME: alerting.busName,
        ...extra,
      });
      vi.resetModules();
      const module =
        name === 'probe'
          ? await import('../../../lambda/probe/handler')
          : await import('../../../lambda/expiry-watch/handler');

      const response = (await module.handler({ source: 'aws.events' }, lambdaContext)) as Record<
        string,
        unknown[]
      >;

      expect(response[key]).toEqual([expect.objectContaining({ instance: 'acme' })]);
    },
  );

  it.each([
    [{ INSTANCES: '[]', ALERT_TOPIC_ARN: TOPIC }, /STATE_TABLE_NAME/],
    [
      { STATE_TABLE_NAME: 't', INSTANCES: '[]', ALERT_TOPIC_ARN: 'alerts' },
      /ALERT_TOPIC_ARN: must be the alert topic ARN/,
    ],
    [{ STATE_TABLE_NAME: 't', ALERT_TOPIC_ARN: TOPIC }, /set INSTANCES_FILE or INSTANCES/],
    [
      { STATE_TABLE_NAME: 't', ALERT_TOPIC_ARN: TOPIC, INSTANCES_FILE: '/nonexistent/instances.json' },
      /cannot read INSTANCES_FILE/,
    ],
    [
      { STATE_TABLE_NAME: 't', ALERT_TOPIC_ARN: TOPIC, INSTANCES: 'not json' },
      /INSTANCES: \(list\): is not valid JSON/,
    ],
    [
      { STATE_TABLE_NAME: 't', ALERT_TOPIC_ARN: TOPIC, INSTANCES: '[{"name":"Bad Name","url":"http://x"}]' },
      /INSTANCES: 0\.name/,
    ],
    [
      {
        STATE_TABLE_NAME: 't',
        ALERT_TOPIC_ARN: TOPIC,
        INSTANCES:
          '[{"name":"acme","url":"http://acme.service-now.com","credentialsSecretId":"c","accessTokenSecretId":"a"}]',
      },
      /INSTANCES: 0\.url: use https/,
    ],
  ])('fails at load with a message naming the bad variable (%o)', async (env, message) => {
    for (const variable of ['STATE_TABLE_NAME', 'INSTANCES', 'INSTANCES_FILE', 'ALERT_TOPIC_ARN']) {
      delete process.env[variable];
    }

    await expect(loadHandler(env)).rejects.toThrow(message);
    await expect(loadHandler(env)).rejects.toThrow(/redeploy the stack/);
  });
});
