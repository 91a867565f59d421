import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { InMemoryIncidentStore, RecordingNotifier } from '../../../harness/in-memory-stores';
import { VirtualClock } from '../../../harness/virtual-clock';
import type { InstanceResult } from '../../../lambda/refresher/refresh-instance';
import { type RefreshReporting, reportRefreshResults } from '../../../lambda/refresher/refresh-report';
import {
  type AlertFacts,
  Alerts,
  type AlertTarget,
  DEFAULT_ALERT_SETTINGS,
} from '../../../lambda/shared/alerts/alerts';
import type { IncidentKind, Observation } from '../../../lambda/shared/alerts/incident';
import type { Notifier } from '../../../lambda/shared/alerts/notifier';
import type { InstanceConfig } from '../../../lambda/shared/instance-config';

const NOW = Date.UTC(2026, 2, 21, 9, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const acme: InstanceConfig = {
  name: 'acme',
  url: 'https://acme.service-now.com',
  credentialsSecretId: 'acme/credentials',
  accessTokenSecretId: 'acme/access-token',
};

/** Runs the report over one result and returns what it told the incidents. */
async function observed(result: InstanceResult) {
  const seen: { kind: IncidentKind; observation: Observation; facts: AlertFacts }[] = [];
  const alerts = {
    observe: async (_: AlertTarget, kind: IncidentKind, observation: Observation, facts: AlertFacts) => {
      seen.push({ kind, observation, facts });
      return undefined;
    },
  };
  const reporting: RefreshReporting = {
    alerts: alerts as unknown as Alerts,
    notifier: { publish: async () => undefined } as unknown as Notifier,
    metrics: { emit: () => undefined, silentInstances: () => undefined },
    graceMs: 15 * 60_000,
  };
  await reportRefreshResults([result], [acme], {
    clock: { now: () => NOW, sleep: async () => undefined },
    reporting,
  });
  return seen;
}

describe('the refresh report', () => {
  it("names an unavailable instance's reason from ServiceNow's answer, not from the words of the detail", async () => {
    const [seen] = await observed({
      instance: 'acme',
      outcome: 'unavailable',
      detail: 'instance unavailable: words that may change (HTTP 200: hibernation page)',
      cause: { kind: 'unavailable', reason: 'hibernating', status: 200, detail: 'hibernation page' },
      state: { instance: 'acme', version: 3, accessTokenExpiresAt: NOW + HOUR },
    });
    expect(seen?.kind).toBe('unavailable');
    expect(seen?.observation).toMatchObject({ active: true, reason: 'hibernating', severity: 'warning' });
  });

  it('gives a failure that needs a person its own outcome as the reason, at once', async () => {
    const [seen] = await observed({
      instance: 'acme',
      outcome: 'refresh-token-rejected',
      detail: 'ServiceNow refused a refresh token that should be valid',
      state: { instance: 'acme', version: 3 },
    });
    expect(seen?.kind).toBe('refresh');
    expect(seen?.observation).toMatchObject({ reason: 'refresh-token-rejected', graceMs: 0 });
  });

  it('tells the emails the refresh token end of the password grant only', async () => {
    const issuedAt = NOW - 70 * DAY;
    const mirror = { refreshTokenIssuedAt: issuedAt, refreshTokenLifespanSeconds: 8_640_000 };
    const password = await observed({
      instance: 'acme',
      outcome: 'grant-rejected',
      state: { instance: 'acme', version: 3, grant: 'password', ...mirror },
    });
    const jwt = await observed({
      instance: 'acme',
      outcome: 'grant-rejected',
      state: { instance: 'acme', version: 3, grant: 'jwt_bearer', ...mirror },
    });
    expect(password[0]?.facts.refreshTokenExpiresAt).toBe(issuedAt + 100 * DAY);
    expect(jwt[0]?.facts.refreshTokenExpiresAt).toBeUndefined();
  });

  it('closes the incident of the failure recorded before a refresh that works', async () => {
    const seen = await observed({
      instance: 'acme',
      outcome: 'refreshed',
      previousOutcome: 'timeout',
      state: { instance: 'acme', version: 4, accessTokenExpiresAt: NOW + HOUR },
    });
    expect(seen).toEqual([{ kind: 'unavailable', observation: { active: false }, facts: expect.anything() }]);
  });

  it('gives a failure the one-minute grace only while the stored token lapses now or lapsed within the grace period', async () => {
    const failure = (accessTokenExpiresAt: number): InstanceResult => ({
      instance: 'acme',
      outcome: 'unavailable',
      cause: { kind: 'unavailable', reason: 'server-error', status: 503, detail: 'Service Unavailable' },
      state: { instance: 'acme', version: 3, accessTokenExpiresAt },
    });
    const graceAt = async (expiresAt: number) => (await observed(failure(expiresAt)))[0]?.observation;
    expect(await graceAt(NOW + 60_000)).toMatchObject({ graceMs: 60_000, severity: 'action-required' });
    expect(await graceAt(NOW - 10 * 60_000)).toMatchObject({ graceMs: 60_000 });
    // Lapsed two hours ago (a revoked refresh token): its reason is told; a 503 now is a blip.
    expect(await graceAt(NOW - 2 * HOUR)).toMatchObject({
      graceMs: 15 * 60_000,
      severity: 'action-required',
    });
    expect(await graceAt(NOW + HOUR)).toMatchObject({ graceMs: 15 * 60_000, severity: 'warning' });
  });

  it('drops a pending outage (not throttling of its REST API) when ServiceNow answers with a refusal, and only then', async () => {
    const refused = await observed({
      instance: 'acme',
      outcome: 'refresh-token-rejected',
      cause: { kind: 'rejected', status: 401 },
      state: { instance: 'acme', version: 3 },
    });
    expect(refused.slice(1).map(({ kind, observation }) => [kind, observation])).toEqual([
      ['unavailable', { active: false, pendingOnly: true }],
    ]);
    // Nothing was asked of ServiceNow: a rotated token that could not be stored says nothing of it.
    const notStored = await observed({
      instance: 'acme',
      outcome: 'refresh-token-not-stored',
      state: { instance: 'acme', version: 3 },
    });
    expect(notStored.map((s) => s.kind)).toEqual(['refresh']);
  });

  it('sends no outage email for single 5xx answers between refusals of a revoked refresh token', async () => {
    // Seed 2 of the chaos run, day 21: the refresh token was revoked, so the stored token lapsed
    // and every transient failure was urgent; two single 503s twenty minutes apart, with refusals
    // between them, opened "instance not answering" although ServiceNow answered every other time.
    const clock = new VirtualClock(NOW);
    const notifier = new RecordingNotifier();
    const reporting: RefreshReporting = {
      alerts: new Alerts({
        store: new InMemoryIncidentStore(),
        notifier,
        clock,
        logger: new Logger({ serviceName: 'servicenow-token-refresher', logLevel: 'SILENT' }),
        owner: 'fn/refresher',
        settings: {
          ...DEFAULT_ALERT_SETTINGS,
          deployment: { stackName: 'ServiceNowTokenRefresher', account: '123456789012', region: 'eu-west-1' },
        },
      }),
      notifier,
      metrics: { emit: () => undefined, silentInstances: () => undefined },
      graceMs: 15 * 60_000,
    };
    const lapsed = { instance: 'acme', version: 3, accessTokenExpiresAt: NOW - HOUR };
    const refusal: InstanceResult = {
      instance: 'acme',
      outcome: 'refresh-token-rejected',
      cause: { kind: 'rejected', status: 401 },
      state: lapsed,
    };
    const blip: InstanceResult = {
      instance: 'acme',
      outcome: 'unavailable',
      cause: { kind: 'unavailable', reason: 'server-error', status: 503, detail: 'Service Unavailable' },
      state: lapsed,
    };
    for (const result of [refusal, blip, refusal, blip, refusal]) {
      await reportRefreshResults([result], [acme], { clock, reporting });
      clock.advance(10 * 60_000);
    }
    const sent = notifier.emails().map((e) => `${e.attributes.kind} ${e.attributes.notice}`);
    expect(sent).toEqual(['refresh opened']);
  });

  it.each(['bootstrapped', 'lease-lapsing', undefined] as const)(
    'closes nothing after a refresh that follows %s',
    async (previousOutcome) => {
      const seen = await observed({
        instance: 'acme',
        outcome: 'refreshed',
        previousOutcome,
        state: { instance: 'acme', version: 4 },
      });
      expect(seen).toEqual([]);
    },
  );
});
