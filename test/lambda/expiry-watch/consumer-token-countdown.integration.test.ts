import { afterEach, expect, it } from 'vitest';
import { dailyConsumerWatch } from '../../../harness/consumer-handoff';
import { RefresherFixture } from '../../../harness/refresher-fixture';

const DAY = 86_400_000;

let fixture: RefresherFixture;
afterEach(async () => {
  await fixture.close();
});

it('counts a handed-off token down over 120 days: a warning at each configured day, one incident, recovery on a new handoff', async () => {
  fixture = await RefresherFixture.create();
  const { alerting, handoffs, errors, until } = await dailyConsumerWatch(fixture);

  // The watch runs at a fixed time each day; the token was minted 6.5 hours after it.
  fixture.clock.advance(6.5 * 3_600_000);
  const { record } = await handoffs.handoff('exalate');
  await until(100.1);
  const countdown = await alerting.emails();
  const countdownEvents = await alerting.events();
  const renewed = await handoffs.handoff('exalate');
  const recovery = await alerting.emails();
  const recoveryEvents = await alerting.events();
  await until(120);
  const after = await alerting.emails();

  expect(errors).toEqual([]);
  const expiresAt = new Date(record.issuedAt + 100 * DAY).toISOString();
  const expiresOn = expiresAt.slice(0, 10);
  // One subject for the whole countdown, so mail clients thread it; each email's first line says
  // how far it has come, in the configured thresholds (30, 14, 7, 3, 1 days), whatever the hour.
  expect(new Set(countdown.map((e) => e.subject))).toEqual(
    new Set([
      `[ServiceNow token] Exalate's refresh token for acme expires ${expiresAt.slice(0, 16).replace('T', ' ')} UTC`,
    ]),
  );
  expect(countdown.map((e) => e.body.split('\n')[0])).toEqual(
    [
      ['WARNING', '30 days'],
      ['WARNING', '14 days'],
      ['ACTION REQUIRED', '7 days'],
      ['ACTION REQUIRED', '3 days'],
      ['ACTION REQUIRED', '1 day'],
    ].map(
      ([state, left]) => `${state}: Exalate's refresh token for acme expires in ${left}, on ${expiresOn}.`,
    ),
  );
  expect(countdown.map((e) => e.attributes.notice)).toEqual([
    'opened',
    'escalated',
    'escalated',
    'escalated',
    'escalated',
  ]);
  expect(
    countdown.every((e) => e.attributes.consumer === 'exalate' && e.attributes.instance === 'acme'),
  ).toBe(true);
  const last = countdown.at(-1)?.body ?? '';
  expect(last).toContain('    npx snow-token handoff acme --to exalate --stack ');
  expect(last).toContain('Client ID: exalate-client');
  expect(last).toContain('Refresh token: the value shown once below');
  expect(last).toMatch(/For Exalate: Exalate keeps synchronising until then/);
  expect(countdownEvents.map((e) => e.detailType)).toEqual([
    'Incident Opened',
    'Consumer Token Expiring',
    ...Array.from({ length: 4 }, () => ['Incident Escalated', 'Consumer Token Expiring']).flat(),
  ]);
  expect(countdownEvents[0]?.detail).toMatchObject({
    instance: 'acme',
    consumer: 'exalate',
    kind: 'consumer-token-expiry',
  });
  expect(recovery.map((e) => e.subject)).toEqual([countdown[0]?.subject]);
  expect(recovery[0]?.body).toMatch(
    /^RESOLVED: a new refresh token was handed off to Exalate .* It expires on .*\./,
  );
  expect(recoveryEvents.map((e) => e.detailType)).toEqual(['Incident Resolved']);
  expect(renewed.record.issuedAt).toBeGreaterThan(record.issuedAt);
  expect(after).toEqual([]);
  const everything = JSON.stringify([countdown, recovery, countdownEvents]);
  for (const secret of fixture.secretValues()) expect(everything).not.toContain(secret);
  expect(everything).not.toContain(handoffs.client.clientSecret);
  // 120 simulated days of a daily watch over moto: seconds alone, longer on a busy machine.
}, 240_000);
