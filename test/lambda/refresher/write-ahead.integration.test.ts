import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertingHarness } from '../../../harness/alerting-harness';
import { RefresherFixture } from '../../../harness/refresher-fixture';
import { VirtualClock } from '../../../harness/virtual-clock';
import type { TokenEndpoint } from '../../../lambda/refresher/refresh-instance';
import { createRefresher } from '../../../lambda/refresher/refresher';
import { Alerts } from '../../../lambda/shared/alerts/alerts';
import { systemClock } from '../../../lambda/shared/clock';
import type { InstanceConfig } from '../../../lambda/shared/instance-config';
import { createInstanceMetrics } from '../../../lambda/shared/metrics';
import { SecretsManagerSecretStore } from '../../../lambda/shared/secrets/secret-store';
import { serviceNowClients } from '../../../lambda/shared/servicenow/servicenow-client';
import { AwsClock, ClockSkewError } from '../../../lambda/shared/state/aws-clock';
import type { StatePatch } from '../../../lambda/shared/state/instance-state';
import { DynamoStateStore, LeaseLostError } from '../../../lambda/shared/state/state-store';

/**
 * The write-ahead refresh (issue 13): every failure between "ServiceNow answered" and "secrets and
 * state agree" is recovered by the next writer, and no step overstates an expiry or loses a
 * refresh token. Failures are injected into the real stores (moto behind them), one call at a time.
 */
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 86_400_000;
const force = (instance = 'acme') => ({ action: 'refresh', instances: [instance], force: true });
const scheduled = { source: 'aws.events' };

function awsFailure(): Error {
  return Object.assign(new Error('injected: We encountered an internal error'), {
    name: 'InternalServerError',
  });
}

/** The state table, failing the first commit whose patch matches. */
class FailingStateStore extends DynamoStateStore {
  constructor(
    client: DynamoDBClient,
    table: string,
    private failWhen: ((patch: StatePatch) => boolean) | undefined,
  ) {
    super(client, table);
  }

  override async commit(...args: Parameters<DynamoStateStore['commit']>) {
    if (this.failWhen?.(args[2])) {
      this.failWhen = undefined;
      throw awsFailure();
    }
    return super.commit(...args);
  }
}

/** Secrets Manager, failing the next `times` writes to one secret. */
class FailingSecretStore extends SecretsManagerSecretStore {
  constructor(
    fixture: RefresherFixture,
    private readonly secretId: string,
    private times: number,
  ) {
    super(fixture.aws.secrets);
  }

  override async write(secretId: string, value: unknown) {
    if (secretId === this.secretId && this.times > 0) {
      this.times--;
      throw awsFailure();
    }
    return super.write(secretId, value);
  }
}

let fixture: RefresherFixture;
afterEach(async () => {
  const logged = fixture.logs.text();
  await fixture.close();
  for (const secret of fixture.secretValues()) expect(logged).not.toContain(secret);
});

/** A refresher environment whose clock (for the lease, the state and its grants) runs `ms` ahead of AWS. */
function aheadOfAws(ms: number) {
  const ahead = { now: () => fixture.clock.now() + ms, sleep: systemClock.sleep };
  return fixture.handler({
    clock: ahead,
    state: new DynamoStateStore(fixture.aws.dynamo, fixture.aws.tableName, new AwsClock(ahead)),
    tokenEndpoint: serviceNowClients(fixture.dispatcher, ahead),
  });
}

async function expectNotOverstated(name = 'acme') {
  const stored = await fixture.accessToken(name);
  const record = stored && fixture.instance(name).sim.accessToken(stored.accessToken);
  expect(record).toBeDefined();
  expect(Date.parse(stored?.expiresAt ?? '')).toBeLessThanOrEqual(record?.expiresAt ?? 0);
  const state = await fixture.instanceState(name);
  expect(state?.accessTokenExpiresAt).toBe(Date.parse(stored?.expiresAt ?? ''));
  expect(state?.intentOpenSince).toBeUndefined();
}

describe('write-ahead refresh', () => {
  it('never overstates the expiry after an AWS failure between the secret write and the state commit', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-full' } }],
      registry: { accessTokenLifespanSeconds: 1800 },
    });
    await fixture.bootstrap();
    fixture.clock.advance(31 * MINUTE);
    const failing = new FailingStateStore(
      fixture.aws.dynamo,
      fixture.aws.tableName,
      (patch) => patch.lastOutcome === 'refreshed',
    );

    await expect(fixture.handler({ state: failing })(scheduled)).rejects.toThrow(/AWS errors/);
    fixture.clock.advance(2 * MINUTE);
    await fixture.handler()(force());

    await expectNotOverstated();
  });

  it('keeps the first recorded expiry for a token whose secret write failed and that ServiceNow hands back', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-full' } }],
      registry: { accessTokenLifespanSeconds: 1800 },
    });
    await fixture.bootstrap();
    fixture.clock.advance(31 * MINUTE);
    const config = fixture.instance().config;

    await expect(
      fixture.handler({ secrets: new FailingSecretStore(fixture, config.accessTokenSecretId, 3) })(scheduled),
    ).rejects.toThrow(/AWS errors/);
    fixture.clock.advance(2 * MINUTE);
    await fixture.handler()(force());

    await expectNotOverstated();
  });

  it('never overstates the expiry when a grant whose answer was lost is retried in the same run and ServiceNow hands its token back', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-full' } }],
      registry: { accessTokenLifespanSeconds: 1800 },
    });
    await fixture.bootstrap();
    fixture.clock.advance(31 * MINUTE);
    // ServiceNow issues a token, but its answer trickles past the client's body timeout; the retry a
    // second later gets the same token back with a fresh full lifespan.
    fixture.instance().sim.addFault({ fault: { kind: 'slow-body', chunkDelayMs: 3_500 }, times: 1 });

    await fixture.handler()(force());

    await expectNotOverstated();
  });

  it('keeps a rotated refresh token when the credentials write is throttled twice', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { rotateRefreshTokens: true } }],
    });
    await fixture.bootstrap();
    fixture.clock.advance(DAY);
    const config = fixture.instance().config;

    const response = await fixture.handler({
      secrets: new FailingSecretStore(fixture, config.credentialsSecretId, 2),
    })(force());

    expect(response.results[0]?.outcome).toBe('refreshed');
    const stored = await fixture.credentials();
    expect(fixture.instance().sim.refreshToken(stored?.refreshToken ?? '')?.revoked).toBe(false);
  });

  it('names the fix when a rotated refresh token cannot be stored at all', async () => {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { rotateRefreshTokens: true } }],
    });
    await fixture.bootstrap();
    fixture.clock.advance(DAY);
    const config = fixture.instance().config;

    const response = await fixture.handler({
      secrets: new FailingSecretStore(fixture, config.credentialsSecretId, 100),
    })(force());

    expect(response.results[0]).toMatchObject({
      outcome: 'refresh-token-not-stored',
      detail: expect.stringMatching(/snow-token renew acme/),
    });
  });

  /**
   * A rotating instance and a writer stalled past its lease after ServiceNow rotated (its answer
   * held until `release`), then a second writer's forced refresh. Seed 1 of the 120-day chaos run,
   * day 75: the second writer presented the rotated-away token, was refused, alerted "renew" and
   * backed off 15 minutes, while the stalled writer stored the new token a moment later.
   */
  async function refusedDuringStalledRotation() {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { rotateRefreshTokens: true } }],
    });
    const alerting = await AlertingHarness.create(fixture);
    await fixture.bootstrap();
    fixture.clock.advance(DAY);
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered: () => void = () => undefined;
    const rotated = new Promise<void>((resolve) => {
      answered = resolve;
    });
    const clients = serviceNowClients(fixture.dispatcher, fixture.clock);
    const first = fixture.handler({
      tokenEndpoint: (instance) => ({
        requestToken: async (grant) => {
          const outcome = await clients(instance).requestToken(grant);
          answered();
          await stalled;
          return outcome;
        },
      }),
    })(force());
    await rotated;
    fixture.clock.advance(100 * SECOND);
    const second = await alerting.refreshHandler()(force());
    return { alerting, first, release, second: second.results[0]?.outcome };
  }

  it('does not call a refresh token dead while an earlier writer, stalled past its lease, stores its rotation', async () => {
    const { alerting, first, release, second } = await refusedDuringStalledRotation();
    expect(second).toBe('rotation-in-flight');
    release();
    expect((await first).results[0]?.outcome).toBe('lease-lost');
    fixture.clock.advance(MINUTE);
    const third = await alerting.refreshHandler()(scheduled);

    expect(third.results[0]?.outcome).toBe('refreshed');
    const stored = await fixture.credentials();
    expect(fixture.instance().sim.refreshToken(stored?.refreshToken ?? '')?.revoked).toBe(false);
    expect(await alerting.emails()).toEqual([]);
  });

  it('alerts at the next refusal when the stalled writer never stores its rotation', async () => {
    const { alerting, first, release, second } = await refusedDuringStalledRotation();
    expect(second).toBe('rotation-in-flight');
    fixture.clock.advance(MINUTE);
    const third = await alerting.refreshHandler()(scheduled);
    release();
    await first;

    expect(third.results[0]?.outcome).toBe('refresh-token-rejected');
    expect((await alerting.emails()).map((e) => `${e.attributes.kind} ${e.attributes.notice}`)).toEqual([
      'refresh opened',
    ]);
  });

  it('asks for no grant when the lease leaves no room for the slowest answer and the writes', async () => {
    fixture = await RefresherFixture.create({ refresh: { leaseMs: 50 * SECOND } });
    await fixture.bootstrap();
    fixture.clock.advance(DAY);
    const grants = fixture.sim.log.length;

    const response = await fixture.handler()(force());

    expect(response.results[0]?.outcome).toBe('lease-lapsing');
    expect(fixture.sim.log.length).toBe(grants);
  });

  it('caps an absurd expires_in by the configured access-token lifespan instead of crashing', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    fixture.clock.advance(DAY);
    // A gateway that rewrites expires_in: ServiceNow issued a normal token.
    const absurd = (instance: InstanceConfig): TokenEndpoint => ({
      requestToken: async (grant) => {
        const outcome = await fixture.client(instance.name).requestToken(grant);
        return outcome.kind === 'ok'
          ? { ...outcome, value: { ...outcome.value, expiresInSeconds: Number.MAX_SAFE_INTEGER } }
          : outcome;
      },
    });

    const response = await fixture.handler({ tokenEndpoint: absurd })(force());

    expect(response.results[0]?.outcome).toBe('refreshed');
    const stored = await fixture.accessToken();
    expect(Date.parse(stored?.expiresAt ?? '')).toBeLessThanOrEqual(fixture.clock.now() + DAY);
  });

  it('calls a refresh-token lifespan of 2^53-1 an invalid credentials secret, not an AWS error', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const credentials = await fixture.credentials();
    await fixture.secrets.write(fixture.instance().config.credentialsSecretId, {
      ...credentials,
      refreshTokenLifespanSeconds: Number.MAX_SAFE_INTEGER,
    });

    const response = await fixture.handler()(force());

    expect(response.results[0]?.outcome).toBe('invalid-credentials-secret');
  });

  it('calls a JWT key that does not parse an invalid credentials secret, not an AWS error', async () => {
    fixture = await RefresherFixture.create();
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await fixture.secrets.write(fixture.instance().config.credentialsSecretId, {
      schemaVersion: 1,
      grant: 'jwt_bearer',
      clientId: 'client-acme',
      clientSecret: 'cs-not-used',
      username: 'svc.token',
      privateKeyPem: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
      certificatePem: `-----BEGIN CERTIFICATE-----\n${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}\n-----END CERTIFICATE-----\n`,
      certificateExpiresAt: new Date(fixture.clock.now() + 365 * DAY).toISOString(),
    });

    const response = await fixture.handler()(force());

    expect(response.results[0]).toMatchObject({
      outcome: 'invalid-credentials-secret',
      detail: expect.stringMatching(/private key that cannot sign/),
    });
  });
});

describe('best effort after a stored token', () => {
  it('answers a forced refresh with the new token although the Token Refreshed event fails', async () => {
    fixture = await RefresherFixture.create();
    const alerting = await AlertingHarness.create(fixture);
    await fixture.bootstrap();
    fixture.clock.advance(DAY);
    const before = await fixture.accessToken();
    const handler = createRefresher(
      {
        ...fixture.deps(),
        reporting: {
          alerts: alerting.alerts(),
          notifier: Object.assign(Object.create(alerting.notifier), {
            publish: async () => {
              throw awsFailure();
            },
          }),
          metrics: createInstanceMetrics(),
          graceMs: alerting.graceMs,
        },
      },
      fixture.instances.map((i) => i.config),
    );

    const response = await handler(force());

    expect(response.results[0]?.outcome).toBe('refreshed');
    expect((await fixture.accessToken())?.accessToken).not.toBe(before?.accessToken);
  });

  /** A revoked refresh token, and a refresher whose alerts go through `store` and `notifier`. */
  async function revokedWithAlerts(
    wrap: (alerting: AlertingHarness) => {
      store?: AlertingHarness['incidents'];
      notifier?: AlertingHarness['notifier'];
    },
  ) {
    fixture = await RefresherFixture.create();
    const alerting = await AlertingHarness.create(fixture);
    await fixture.bootstrap();
    const credentials = await fixture.credentials();
    fixture.instance().sim.revoke(credentials?.refreshToken ?? '');
    const { store = alerting.incidents, notifier = alerting.notifier } = wrap(alerting);
    const handler = createRefresher(
      {
        ...fixture.deps(),
        reporting: {
          alerts: new Alerts({
            store,
            notifier,
            clock: fixture.clock,
            logger: new Logger({ serviceName: 'servicenow-token-refresher' }),
            owner: 'fn/refresher-env',
            settings: alerting.settings,
          }),
          notifier: alerting.notifier,
          metrics: createInstanceMetrics(),
          graceMs: alerting.graceMs,
        },
      },
      fixture.instances.map((i) => i.config),
    );
    return { alerting, handler };
  }

  it('sends an alert email parked after an SNS failure on the next run, not at the next refresh attempt', async () => {
    let failures = 1;
    const { alerting, handler } = await revokedWithAlerts((alerting) => ({
      notifier: Object.assign(Object.create(alerting.notifier), {
        email: async (email: Parameters<typeof alerting.notifier.email>[0]) => {
          if (failures-- > 0) throw awsFailure();
          return alerting.notifier.email(email);
        },
      }),
    }));

    const first = await handler(force());
    expect(first.results[0]?.outcome).toBe('refresh-token-rejected');
    expect(await alerting.emails()).toEqual([]);
    fixture.clock.advance(MINUTE);
    await handler(scheduled);

    const emails = await alerting.emails();
    expect(emails.map((e) => e.attributes.notice)).toEqual(['opened']);
  });

  it('sends an email once when clearing its outbox fails after SNS took it, on this and later runs', async () => {
    // DynamoDB refuses the outbox clear of the "opened" email five times in a row (an AWS window).
    let failures = 5;
    const { alerting, handler } = await revokedWithAlerts((alerting) => ({
      store: Object.assign(Object.create(alerting.incidents), {
        clearOutbox: async (...args: Parameters<typeof alerting.incidents.clearOutbox>) => {
          if (failures-- > 0) throw awsFailure();
          return alerting.incidents.clearOutbox(...args);
        },
      }),
    }));

    await handler(force());
    for (let run = 0; run < 3; run++) {
      fixture.clock.advance(MINUTE);
      await handler(scheduled);
    }

    const emails = await alerting.emails();
    expect(emails.map((e) => e.attributes.notice)).toEqual(['opened']);
    expect((await alerting.incidents.get('acme', 'refresh'))?.outbox).toBeUndefined();
  });
});

describe('lease fencing', () => {
  it('refuses the commit of a writer whose lease was taken over, even by its own name', async () => {
    fixture = await RefresherFixture.create();
    await fixture.bootstrap();
    const now = fixture.clock.now();
    const first = await fixture.state.acquireLease('acme', 'refresher/env', now, 90 * SECOND);
    const second = await fixture.state.acquireLease('acme', 'refresher/env', now + 91 * SECOND, 90 * SECOND);

    await expect(
      fixture.state.commit(
        'acme',
        'refresher/env',
        { lastOutcome: 'refreshed' },
        {
          release: true,
          epoch: first?.leaseEpoch,
        },
      ),
    ).rejects.toThrow(LeaseLostError);
    expect(second?.leaseEpoch).toBeGreaterThan(first?.leaseEpoch ?? 0);
  });

  it('never overstates the expiry when the writer clock is ahead of AWS by less than the refusal bound', async () => {
    // Real time on both sides: moto's Date header is what the writer measures itself against.
    fixture = await RefresherFixture.create({
      clock: new VirtualClock(Date.now()),
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'new-token' } }],
    });
    await fixture.bootstrap();
    await aheadOfAws(4 * SECOND)(force());

    expect((await fixture.instanceState())?.lastOutcome).toBe('refreshed');
    await expectNotOverstated();
  });

  it('never overstates the expiry of a token handed back after a lost answer to a writer whose clock is ahead', async () => {
    fixture = await RefresherFixture.create({
      clock: new VirtualClock(Date.now()),
      instances: [{ name: 'acme', settings: { earlyRefreshMode: 'current-full' } }],
    });
    await fixture.bootstrap();
    // The stored token is gone (AWS's clock is the real one, so no time warp): the next grant issues
    // a new one, and its answer is cut.
    fixture.instance().sim.revoke((await fixture.accessToken())?.accessToken ?? '');
    fixture.instance().sim.addFault({ fault: { kind: 'truncated-body' }, path: '/oauth_token.do', times: 3 });
    await aheadOfAws(4 * SECOND)(force());
    expect((await fixture.instanceState())?.lastOutcome).toBe('network-error');

    // Another writer then gets that token handed back with a full expires_in: it counts from the
    // lost grant, whose time the first writer must not have stamped with its own clock.
    await fixture.handler()(force());

    expect((await fixture.instanceState())?.lastOutcome).toBe('refreshed');
    await expectNotOverstated();
  });

  it('refuses to take a held lease with a clock 91 s ahead of AWS', async () => {
    fixture = await RefresherFixture.create();
    const holder = await fixture.state.acquireLease('acme', 'refresher/holder', Date.now(), 90 * SECOND);
    const ahead = { now: () => Date.now() + 91 * SECOND, sleep: systemClock.sleep };
    const skewed = new DynamoStateStore(fixture.aws.dynamo, fixture.aws.tableName, new AwsClock(ahead));

    await expect(skewed.acquireLease('acme', 'refresher/ahead', ahead.now(), 90 * SECOND)).rejects.toThrow(
      ClockSkewError,
    );
    expect(holder).toBeDefined();
    expect((await fixture.instanceState())?.leaseOwner).toBe('refresher/holder');
  });
});
