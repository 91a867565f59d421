import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  INCIDENT_KINDS,
  INCIDENT_REASONS,
  type IncidentKind,
  type IncidentReason,
  type Notice,
} from '../../../../lambda/shared/alerts/incident';
import {
  composeMessage,
  INCIDENT_TEXTS,
  incidentSubject,
  type MessageContext,
  RESOLVED_TITLES,
} from '../../../../lambda/shared/alerts/messages';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 2, 21, 9, 0);

const ctx: MessageContext = {
  instanceName: 'acme',
  instanceUrl: 'https://acme.service-now.com',
  now: NOW,
  since: NOW - 20 * 60_000,
  cli: 'npx snow-token',
  deployment: { stackName: 'TokensProd', account: '123456789012', region: 'eu-central-1' },
  accessTokenExpiresAt: NOW + HOUR,
  refreshTokenExpiresAt: NOW + 30 * DAY + 6 * HOUR,
  certificateExpiresAt: NOW + 14 * DAY + 2 * HOUR,
  accessTokenLifespanSeconds: 600,
  scheduleIntervalSeconds: 60,
};

/** Every kind with the reasons its observers report. */
const CASES: [IncidentKind, IncidentReason][] = [
  ['refresh', 'refresh-token-expired'],
  ['refresh', 'refresh-token-rejected'],
  ['refresh', 'invalid-credentials-secret'],
  ['refresh', 'grant-rejected'],
  ['refresh', 'not-bootstrapped'],
  ['refresh', 'malformed'],
  ['access-denied', 'forbidden'],
  ['access-denied', 'unauthorized'],
  ['unavailable', 'hibernating'],
  ['unavailable', 'offline'],
  ['unavailable', 'server-error'],
  ['rate-limited', 'rate-limited'],
  ['refresh-token-expiry', 'expiring'],
  ['certificate-expiry', 'expiring'],
  ['config-drift', 'lifespan-too-short'],
];

describe('alert emails', () => {
  it.each(CASES)('%s (%s) names the instance, stack, account and region, and when', (kind, reason) => {
    const { body } = composeMessage({ kind, reason, severity: 'action-required', notice: 'opened' }, ctx);

    expect(body.split('\n')[0]).toMatch(/^ACTION REQUIRED: /);
    expect(body).toContain('Instance:   acme (https://acme.service-now.com)');
    expect(body).toContain('Deployment: stack TokensProd, AWS account 123456789012, region eu-central-1');
    expect(body).toMatch(/^(Since|Expires|Expired): +\d{4}-\d\d-\d\d \d\d:\d\d UTC$/m);
    expect(body).toContain('Sent:       2026-03-21 09:00 UTC');
  });

  it.each(
    CASES.filter(([kind]) => kind !== 'rate-limited' && kind !== 'config-drift' && kind !== 'unavailable'),
  )('%s (%s) gives a command to paste, with the stack and region it acts on', (kind, reason) => {
    const { body } = composeMessage({ kind, reason, severity: 'action-required', notice: 'opened' }, ctx);

    expect(body).toMatch(
      /^ {4}npx snow-token (renew|doctor|bootstrap) acme( --grant jwt_bearer --new-client)? --stack TokensProd --region eu-central-1$/m,
    );
    expect(body).toContain('signed in to AWS account 123456789012');
  });

  it('links the runbook section when a runbook is configured, and leaves the line out when none is', () => {
    const withRunbook = composeMessage(
      { kind: 'refresh', reason: 'refresh-token-rejected', severity: 'action-required', notice: 'opened' },
      {
        ...ctx,
        runbook: 'https://wiki.example.com/servicenow-token',
      },
    );
    const without = composeMessage(
      { kind: 'refresh', reason: 'refresh-token-rejected', severity: 'action-required', notice: 'opened' },
      ctx,
    );

    expect(withRunbook.body).toContain(
      'Runbook: https://wiki.example.com/servicenow-token#refresh-token-refused',
    );
    expect(without.body).not.toContain('Runbook');
    expect(without.body).toContain('What to do:\nIn the deployment repository');
  });

  it('reads the configured threshold: a 30-day warning says 30 days, with the expiry date and time', () => {
    const { subject, body } = composeMessage(
      { kind: 'refresh-token-expiry', reason: 'expiring', severity: 'warning', notice: 'opened' },
      ctx,
    );

    expect(subject).toBe('[ServiceNow token] acme: refresh token expires 2026-04-20 15:00 UTC');
    expect(body.split('\n')[0]).toBe('WARNING: refresh token expires in 30 days.');
    expect(body).toContain('Expires:    2026-04-20 15:00 UTC');
    expect(body).not.toContain('Since:');
  });

  it.each<Notice>(['reminder', 'escalated', 'resolved'])(
    'keeps the subject the incident opened with in its %s email',
    (notice) => {
      const opened = incidentSubject('unavailable', 'hibernating', ctx);
      const later = composeMessage(
        { kind: 'unavailable', reason: 'server-error', severity: 'action-required', notice: notice },
        {
          ...ctx,
          now: NOW + 5 * HOUR,
          incidentSubject: opened,
        },
      );

      expect(opened).toBe('[ServiceNow token] acme: instance is hibernating since 2026-03-21 08:40 UTC');
      expect(later.subject).toBe(opened);
    },
  );

  it('says in its first line that an incident is over, with where it happened', () => {
    const { body } = composeMessage(
      { kind: 'unavailable', reason: 'server-error', severity: 'warning', notice: 'resolved' },
      {
        ...ctx,
        now: ctx.since + 2 * HOUR,
      },
    );

    expect(body.split('\n')[0]).toBe('RESOLVED: instance answering again.');
    expect(body).toContain('Resolved:   2026-03-21 10:40 UTC, after 2 h');
    expect(body).toContain('Deployment: stack TokensProd, AWS account 123456789012, region eu-central-1');
  });

  it('keeps subjects within the 100 characters SNS allows', () => {
    const long = { ...ctx, instanceName: 'a'.repeat(63) };
    for (const [kind, reason] of CASES) expect(incidentSubject(kind, reason, long).length).toBeLessThan(100);
  });
});

// The compiler checks half of these: `npm test` runs tsc over test/, where an expectTypeOf that does
// not hold, or a @ts-expect-error line that compiles, fails.
describe('the words of every kind', () => {
  it('are there for every kind, and only the kinds, in the open and in the resolved emails', () => {
    expectTypeOf<keyof typeof INCIDENT_TEXTS>().toEqualTypeOf<IncidentKind>();
    expectTypeOf<keyof typeof RESOLVED_TITLES>().toEqualTypeOf<IncidentKind>();
    // @ts-expect-error a table of words that leaves a kind out does not compile
    const missing: typeof INCIDENT_TEXTS = { refresh: INCIDENT_TEXTS.refresh };
    // @ts-expect-error words for a kind that is not in INCIDENT_KINDS do not compile
    const extra: typeof RESOLVED_TITLES = { ...RESOLVED_TITLES, 'no-such-kind': 'gone' };

    expect(Object.keys(INCIDENT_TEXTS).sort()).toEqual([...INCIDENT_KINDS].sort());
    expect(Object.keys(RESOLVED_TITLES).sort()).toEqual([...INCIDENT_KINDS].sort());
    expect([missing, extra]).toHaveLength(2);
  });

  it('make an email for every reason of every kind', () => {
    for (const kind of INCIDENT_KINDS) {
      expect(INCIDENT_REASONS[kind].length).toBeGreaterThan(0);
      for (const reason of INCIDENT_REASONS[kind]) {
        const { subject, body } = composeMessage(
          { kind, reason, severity: 'warning', notice: 'opened' },
          ctx,
        );
        expect(subject).toMatch(/^\[ServiceNow token\] acme: /);
        expect(body).toMatch(/^WARNING: .+\.\n/);
      }
    }
  });

  it('are for the reasons of the closed set only', () => {
    const { subject } = composeMessage(
      // @ts-expect-error a reason outside the closed set does not compile
      { kind: 'refresh', reason: 'no-such-reason', severity: 'warning', notice: 'opened' },
      ctx,
    );
    expect(subject).toContain('token refresh failing');
  });
});
