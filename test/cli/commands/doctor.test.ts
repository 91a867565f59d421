import { describe, expect, it } from 'vitest';
import { DOCTOR_CHECKS, type DoctorFacts, type Finding } from '../../../cli/commands/doctor';
import type { CredentialsSecret } from '../../../lambda/shared/secrets/credentials-secret';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

const instance = {
  name: 'acme',
  url: 'https://acme.service-now.com',
  credentialsSecretId: 'snow/acme/credentials',
  accessTokenSecretId: 'snow/acme/access-token',
};

function passwordCredentials(issuedDaysAgo: number): CredentialsSecret {
  return {
    schemaVersion: 1,
    grant: 'password',
    clientId: 'client-acme',
    clientSecret: 'not-a-real-secret',
    refreshToken: 'not-a-real-token',
    refreshTokenIssuedAt: new Date(NOW - issuedDaysAgo * DAY).toISOString(),
    refreshTokenLifespanSeconds: 8_640_000,
  };
}

/** A healthy password-grant instance as doctor reads it; `changes` makes it less so. */
function facts(changes: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    // The checks read the schedule from the deployment and, for the probe, the access-token
    // secret: here there is none, so the probe check does not apply (its own test is the CLI's).
    ctx: {
      deployment: { refreshAheadSeconds: 300, scheduleIntervalSeconds: 60 },
      secrets: { read: async () => ({ kind: 'missing' }) },
    } as unknown as DoctorFacts['ctx'],
    instance: instance as DoctorFacts['instance'],
    now: NOW,
    reach: { kind: 'unauthorized', status: 401, message: 'User Not Authenticated' },
    reachable: true,
    credentials: passwordCredentials(1),
    state: {
      instance: 'acme',
      version: 3,
      lastOutcome: 'refreshed',
      lastSuccessAt: NOW - 60_000,
      accessTokenLifespanSeconds: 1800,
    },
    ...changes,
  };
}

async function findings(given: DoctorFacts): Promise<(Finding & { check: string })[]> {
  const found: (Finding & { check: string })[] = [];
  for (const check of DOCTOR_CHECKS) {
    const finding = await check.run(given);
    if (finding) found.push({ ...finding, check: finding.name ?? check.name });
  }
  return found;
}

describe('snow-token doctor: a list of checks, run in order', () => {
  it('passes every check of a healthy password-grant instance, and labels the grant advisory a note', async () => {
    const result = await findings(facts());

    expect(result.map((f) => [f.check, f.verdict])).toEqual([
      ['instance reachable and awake', 'ok'],
      ['credentials stored', 'ok'],
      ['password grant accepted', 'ok'],
      ['access token lifespan long enough', 'ok'],
      ['refresh token not near its end', 'ok'],
      ['grant without a cliff', 'note'],
    ]);
  });

  it('fails a hibernating instance, with the way to wake it as the fix', async () => {
    const result = await findings(
      facts({
        reach: { kind: 'unavailable', reason: 'hibernating', status: 200, detail: 'html' },
        reachable: false,
      }),
    );

    expect(result[0]).toMatchObject({
      check: 'instance reachable and awake',
      verdict: 'fail',
      fix: expect.stringMatching(/Wake the developer instance/),
    });
  });

  it('fails a refresh token with 30 days or fewer left, naming renew as the fix', async () => {
    const result = await findings(facts({ credentials: passwordCredentials(71) }));

    expect(result.find((f) => f.check === 'refresh token not near its end')).toMatchObject({
      verdict: 'fail',
      detail: expect.stringMatching(/^29 days left/),
      fix: 'snow-token renew acme',
    });
  });

  it('fails when no credentials are stored, and skips the checks that need them', async () => {
    const result = await findings(facts({ credentials: undefined }));

    expect(result.map((f) => [f.check, f.verdict])).toEqual([
      ['instance reachable and awake', 'ok'],
      ['credentials stored', 'fail'],
      ['access token lifespan long enough', 'ok'],
    ]);
    expect(result[1]?.fix).toBe('snow-token bootstrap acme');
  });

  it('names the grant and the last outcome when the refresher was refused', async () => {
    const result = await findings(
      facts({
        state: {
          instance: 'acme',
          version: 4,
          lastOutcome: 'refresh-token-rejected',
          lastOutcomeDetail: 'invalid_grant',
        },
      }),
    );

    expect(result.find((f) => f.check === 'password grant accepted')).toMatchObject({
      verdict: 'fail',
      detail: 'the last refresh ended "refresh-token-rejected": invalid_grant',
      fix: expect.stringMatching(/snow-token renew acme$/),
    });
  });
});
