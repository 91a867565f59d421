import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryAlerting } from '../../../harness/alerting-harness';
import { InMemoryRefresherFixture } from '../../../harness/refresher-fixture';
import { createExpiryWatch } from '../../../lambda/expiry-watch/expiry-watch';
import { createInstanceMetrics } from '../../../lambda/shared/metrics';

/**
 * The expiry watch's core on the in-memory stores: the countdown to the refresh token's end, the
 * lifespan check and the alert topic's subscriptions. No emulator.
 */
const DAY = 86_400_000;

let fixture: InMemoryRefresherFixture;
afterEach(async () => {
  await fixture.close();
});

async function setUp(options: Parameters<typeof InMemoryRefresherFixture.create>[0] = {}) {
  fixture = await InMemoryRefresherFixture.create(options);
  const alerting = new InMemoryAlerting(fixture);
  await alerting.renew();
  await alerting.emails();
  return alerting;
}

describe('the expiry watch', () => {
  it('stays silent while the refresh token has more than the first threshold left', async () => {
    const alerting = await setUp();
    fixture.clock.advance(60 * DAY);

    const [report] = await alerting.watch()();

    expect(report).toMatchObject({ instance: 'acme', daysLeft: 39, notices: [] });
    expect(await alerting.emails()).toEqual([]);
  });

  it('announces each threshold once, however often it runs, and the expiry itself', async () => {
    const alerting = await setUp();
    const watch = alerting.watch();
    const notices: string[] = [];

    for (let day = 0; day < 101; day++) {
      const [report] = await watch();
      notices.push(...(report?.notices ?? []));
      fixture.clock.advance(DAY);
    }

    const emails = await alerting.emails();
    expect(notices).toEqual([
      'refresh-token-expiry:opened',
      'refresh-token-expiry:escalated',
      'refresh-token-expiry:escalated',
      'refresh-token-expiry:escalated',
      'refresh-token-expiry:escalated',
      'refresh-token-expiry:escalated',
    ]);
    expect(emails).toHaveLength(6);
    expect(emails[0]?.body).toMatch(/^WARNING: refresh token expires in 30 days\./);
    expect(emails.at(-1)?.body).toMatch(/^ACTION REQUIRED: refresh token expired/);
  });

  it('flags an access token lifespan too short for the schedule', async () => {
    const alerting = await setUp({ registry: { accessTokenLifespanSeconds: 600 } });

    await alerting.watch()();

    const [email] = await alerting.emails();
    expect(email?.subject).toMatch(/^\[ServiceNow token\] acme: access token lifespan too short since /);
    expect(email?.body).toMatch(/live 600 s/);
  });

  it('puts an action-required event on the bus when nobody has confirmed the alert topic', async () => {
    const alerting = await setUp();
    const watch = createExpiryWatch(
      {
        clock: fixture.clock,
        state: fixture.state,
        incidents: alerting.incidents,
        alerts: alerting.alerts(),
        metrics: createInstanceMetrics(),
        warningDays: [30, 14, 7, 3, 1],
        scheduleIntervalSeconds: 60,
        refreshAheadSeconds: 300,
        subscriptions: {
          sns: { send: async () => ({ Subscriptions: [{ SubscriptionArn: 'PendingConfirmation' }] }) },
          topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
          publish: (events) => alerting.notifier.publish(events),
          logger: fixture.deps().logger,
          stackName: 'ServiceNowTokenRefresher',
        },
      },
      fixture.instances.map((i) => i.config),
    );

    const result = await watch();

    expect(result.subscriptions).toEqual({ status: 'none-confirmed', pending: 1 });
    expect(await alerting.events()).toEqual([
      expect.objectContaining({
        detailType: 'Alert Topic Unsubscribed',
        detail: expect.objectContaining({ severity: 'action-required', pending: 1 }),
      }),
    ]);
  });
});
