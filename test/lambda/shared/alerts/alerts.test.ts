import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { InMemoryIncidentStore, RecordingNotifier } from '../../../../harness/in-memory-stores';
import { VirtualClock } from '../../../../harness/virtual-clock';
import { Alerts, DEFAULT_ALERT_SETTINGS } from '../../../../lambda/shared/alerts/alerts';
import type { Observation } from '../../../../lambda/shared/alerts/incident';

/** Alerts over the in-memory incident store: who wins a transition, and who sends its email. */
const MINUTE = 60_000;
const target = { name: 'acme', url: 'https://acme.service-now.com' };
const refused: Observation = {
  active: true,
  reason: 'refresh-token-rejected',
  severity: 'action-required',
  graceMs: 0,
  remind: true,
};

function environments(count: number) {
  const clock = new VirtualClock();
  const store = new InMemoryIncidentStore();
  const notifier = new RecordingNotifier();
  const alerts = Array.from(
    { length: count },
    (_, n) =>
      new Alerts({
        store,
        notifier,
        clock,
        logger: new Logger({ serviceName: 'servicenow-token-refresher', logLevel: 'SILENT' }),
        owner: `fn/env-${n}`,
        settings: {
          ...DEFAULT_ALERT_SETTINGS,
          deployment: { stackName: 'ServiceNowTokenRefresher', account: '123456789012', region: 'eu-west-1' },
        },
      }),
  );
  return { clock, store, notifier, alerts };
}

describe('alerts', () => {
  it('sends one email when three environments see the same failure at once', async () => {
    const { notifier, alerts, store } = environments(3);

    const notices = await Promise.all(alerts.map((a) => a.observe(target, 'refresh', refused, {})));

    expect(notices.filter((n) => n === 'opened')).toHaveLength(1);
    expect(notifier.emails().map((e) => e.attributes.notice)).toEqual(['opened']);
    expect(await store.get('acme', 'refresh')).toMatchObject({ status: 'open', version: 1 });
    expect((await store.get('acme', 'refresh'))?.outbox).toBeUndefined();
  });

  it('keeps an email it could not send parked, and sends it on its next run', async () => {
    const { clock, notifier, alerts, store } = environments(1);
    const [alert] = alerts;
    notifier.failEmails = 1;

    await expect(alert?.observe(target, 'refresh', refused, {})).rejects.toThrow(/SNS is unavailable/);
    const parked = (await store.get('acme', 'refresh'))?.outbox;
    clock.advance(MINUTE);
    await alert?.retryUnsent();

    expect(parked).toMatchObject({ notice: 'opened', claimedBy: 'fn/env-0' });
    expect(notifier.emails().map((e) => e.subject)).toEqual([parked?.subject]);
    expect((await store.get('acme', 'refresh'))?.outbox).toBeUndefined();
  });

  it('resolves an open incident with an email in the thread it opened', async () => {
    const { clock, notifier, alerts } = environments(1);
    const [alert] = alerts;
    await alert?.observe(target, 'refresh', refused, {});
    clock.advance(MINUTE);

    const notice = await alert?.observe(target, 'refresh', { active: false }, {});

    const [opened, resolved] = notifier.emails();
    expect(notice).toBe('resolved');
    expect(resolved?.subject).toBe(opened?.subject);
    expect(resolved?.attributes.notice).toBe('resolved');
  });
});
