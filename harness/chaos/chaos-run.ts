import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { createExpiryWatch } from '../../lambda/expiry-watch/expiry-watch';
import { createProber, type Prober } from '../../lambda/probe/prober';
import { createRefresher, type Refresher } from '../../lambda/refresher/refresher';
import { Alerts } from '../../lambda/shared/alerts/alerts';
import { DynamoIncidentStore } from '../../lambda/shared/alerts/incident-store';
import { AwsNotifier } from '../../lambda/shared/alerts/notifier';
import type { Clock } from '../../lambda/shared/clock';
import type { InstanceConfig } from '../../lambda/shared/instance-config';
import { createInstanceMetrics } from '../../lambda/shared/metrics';
import { bootstrapWithPassword } from '../../lambda/shared/password-bootstrap';
import type { RefreshResponse } from '../../lambda/shared/refresh-requester';
import { accessTokenSecretSchema } from '../../lambda/shared/secrets/access-token-secret';
import {
  type CredentialsSecret,
  parseSecretJson,
  passwordCredentialsSchema,
} from '../../lambda/shared/secrets/credentials-secret';
import { SecretsManagerSecretStore } from '../../lambda/shared/secrets/secret-store';
import { createServiceNowAgent, ServiceNowClient } from '../../lambda/shared/servicenow/servicenow-client';
import { AwsClock, MAX_CLOCK_SKEW_MS } from '../../lambda/shared/state/aws-clock';
import { fingerprint } from '../../lambda/shared/state/instance-state';
import { openPendingRefreshToken } from '../../lambda/shared/state/pending-refresh-token';
import { DynamoStateStore } from '../../lambda/shared/state/state-store';
import { AlertingHarness, type ReceivedEmail } from '../alerting-harness';
import { type AwsFault, AwsFaultProxy } from '../aws-fault-proxy';
import { httpActivity } from '../http-activity';
import { localAwsConfig } from '../local-aws/aws-env';
import { RefresherFixture } from '../refresher-fixture';
import type { EarlyRefreshMode } from '../servicenow-simulator';
import { TimeWarp } from '../time-warp';
import { type ChaosEvent, type FaultSchedule, faultSchedule, seededRandom } from './fault-schedule';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The measured bound of the expiry window (test/lambda/refresher/expiry-window-*.test.ts). */
export const EXPIRY_WINDOW_MS = 5 * SECOND;
/**
 * How long after ServiceNow (and AWS) became usable again the refresher may take to have a valid
 * token stored: one schedule interval, the longest transient backoff (5 min), one attempt budget
 * (40 s), and a minute of slack for a Retry-After. See docs/reliability.md.
 */
/** Real time with no request in flight before a sleeping writer's moment may come. */
const IDLE_QUIET_MS = 5;
/** Runs kept for a violation's context. */
const RUNS_KEPT = 12;
export const RECOVERY_GRACE_MS = MINUTE + 5 * MINUTE + 40 * SECOND + MINUTE;
/** Outages at least this long must be announced: the 15-minute grace, a probe interval and slack. */
const ANNOUNCE_AFTER_MS = 45 * MINUTE;

export const INVARIANTS = [
  'refresh-token-kept',
  'renewal-took-effect',
  'access-token-valid-when-reachable',
  'access-token-expiry-not-overstated',
  'state-agrees-with-secrets',
  'secrets-match-what-was-written',
  'emails-one-open-one-recovery',
  'long-outages-announced',
  'no-false-alarms',
  'no-secret-in-output',
  'skewed-writer-refused',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Violation {
  readonly day: number;
  readonly invariant: Invariant;
  readonly instance?: string;
  /** Never a secret value: fingerprints and times only. */
  readonly detail: string;
  /**
   * The functions' last log lines about the instance, for the first violations of each episode
   * (the logs are scanned for secrets at the end of the run, so they carry none).
   */
  readonly context?: readonly string[];
}

export interface ChaosReport {
  readonly seed: number;
  readonly days: number;
  readonly instances: Record<string, EarlyRefreshMode>;
  readonly wallSeconds: number;
  readonly serviceNowWindows: Record<string, number>;
  /** As the simulator logged them: each is one request that was answered badly. */
  readonly serviceNowFaults: Record<string, number>;
  readonly awsFaults: Record<string, number>;
  readonly awsCalls: Record<string, number>;
  readonly events: Record<string, number>;
  readonly invocations: Record<string, number>;
  readonly emails: Record<string, number>;
  readonly checks: Record<Invariant, number>;
  readonly violations: readonly Violation[];
}

export interface ChaosOptions {
  readonly seed: number;
  readonly days: number;
  /** Default 7200 s, Exalate's recommendation (README): fewer refreshes, same paths. */
  readonly accessTokenLifespanSeconds?: number;
}

const MODES: readonly EarlyRefreshMode[] = ['current-remaining', 'new-token', 'current-full'];

/**
 * One chaos run: two instances over the time-warp harness with a seeded fault schedule on both the
 * ServiceNow and the AWS side, renewals from the CLI racing the refresher, and every invariant
 * checked as it goes. Returns figures and violations; throws only if the harness itself breaks.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const wallStart = performance.now();
  const random = seededRandom(options.seed ^ 0x5eed);
  const modes: Record<string, EarlyRefreshMode> = {
    acme: MODES[options.seed % 2 === 0 ? 0 : 2] as EarlyRefreshMode,
    globex: 'new-token',
  };
  const names = Object.keys(modes);
  const fixture = await RefresherFixture.create({
    // globex rotates refresh tokens (as some instances and proxies do): each one used is revoked.
    instances: names.map((name) => ({
      name,
      settings: { earlyRefreshMode: modes[name], rotateRefreshTokens: name === 'globex' },
    })),
    registry: { accessTokenLifespanSeconds: options.accessTokenLifespanSeconds ?? 7200 },
  });
  let proxy: AwsFaultProxy | undefined;
  try {
    const harness = await AlertingHarness.create(fixture);
    const schedule = faultSchedule({
      seed: options.seed,
      start: fixture.clock.now(),
      days: options.days,
      instances: names,
    });
    // AWS's Date header tells the virtual time, so writers measure their clock skew against it.
    proxy = await AwsFaultProxy.start(localAwsConfig().endpoint, (call) => awsFault(schedule, call.service), {
      now: () => fixture.clock.now(),
    });
    const run = new ChaosRun(fixture, harness, schedule, proxy, random);
    await run.execute();
    return run.report(options, modes, (performance.now() - wallStart) / 1000);
  } finally {
    await proxy?.close();
    await fixture.close();
  }

  function awsFault(schedule: FaultSchedule, service: string): AwsFault | undefined {
    const now = fixture.clock.now();
    const window = schedule.aws.find((w) => w.start <= now && now < w.end && w.services.includes(service));
    const rate = window ? window.rate : now < schedule.quietFrom ? 0.01 : 0;
    if (random() >= rate) return undefined;
    const r = random();
    if (r < 0.45) return { kind: 'throttle' };
    if (r < 0.7) return { kind: 'internal-error' };
    if (r < 0.85) return { kind: 'drop' };
    return { kind: 'latency', ms: 20 + Math.floor(random() * 200) };
  }
}

interface Mirror {
  access?: string;
  credentials?: string;
}

class ChaosRun {
  private readonly clock;
  private readonly configs: InstanceConfig[];
  private readonly mirrors = new Map<string, Mirror>();
  private readonly violations: Violation[] = [];
  private readonly checks = Object.fromEntries(INVARIANTS.map((i) => [i, 0])) as Record<Invariant, number>;
  private readonly invocations: Record<string, number> = {};
  private readonly eventCounts: Record<string, number> = {};
  private readonly windowCounts: Record<string, number> = {};
  private readonly errors: unknown[] = [];
  private readonly emails: { readonly at: number; readonly email: ReceivedEmail }[] = [];
  private readonly pendingRenewals = new Map<string, { due: number; tries: number }>();
  /** Per instance: the last moment it could not have been refreshed (outage, AWS failing, dead refresh token). */
  private readonly disruptedAt = new Map<string, number>();
  /** Per instance: every refresh token ever stored, in order. */
  private readonly refreshTokenHistory = new Map<string, string[]>();
  private readonly revokedByChaos = new Set<string>();
  /** Instances whose last writer failed on AWS since state and secrets last agreed. */
  private readonly failedSinceAgreement = new Set<string>();
  private readonly applied = new Map<string, string>();
  private nextEvent = 0;
  private envs = 0;
  /** The refresher's warm execution environments: one runs one invocation at a time. */
  private refreshers: Refresher[];
  /** Environments (and operators) at work now, and since when: while any is, checks that need a settled system wait. */
  private readonly busy = new Map<unknown, { readonly label: string; readonly since: number }>();
  private probeRefresher: Refresher;
  private prober: Prober;
  private readonly agent = createServiceNowAgent({
    connectTimeoutMs: 1_000,
    headersTimeoutMs: 250,
    bodyTimeoutMs: 250,
  });
  private readonly snClients = new Map<Clock, Map<string, ServiceNowClient>>();

  constructor(
    private readonly fixture: RefresherFixture,
    private readonly harness: AlertingHarness,
    private readonly schedule: FaultSchedule,
    private readonly proxy: AwsFaultProxy,
    private readonly random: () => number,
  ) {
    this.clock = fixture.clock;
    // Several environments run at once here: their sleeps must not add up (see VirtualClock).
    this.clock.scheduleSleepsWhenIdle(() => httpActivity.idle(IDLE_QUIET_MS));
    this.configs = fixture.instances.map((i) => i.config);
    for (const name of this.configs.map((c) => c.name)) this.mirrors.set(name, {});
    this.refreshers = [this.refresherEnvironment()];
    this.probeRefresher = this.refresherEnvironment();
    this.prober = this.proberEnvironment();
  }

  /**
   * SDK clients as one execution environment holds them, through the fault proxy, with the SDK's
   * standard 3 attempts. `skewMs`: how far this environment's clock is off.
   */
  private awsClients(skewMs = 0) {
    const envClock: Clock =
      skewMs === 0
        ? this.clock
        : { now: () => this.clock.now() + skewMs, sleep: (ms, signal) => this.clock.sleep(ms, signal) };
    const config = { ...localAwsConfig(), endpoint: this.proxy.endpoint, maxAttempts: 3 };
    const secrets = new SecretsManagerClient(config);
    secrets.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'PutSecretValueCommand') {
          const input = args.input as { SecretId: string; SecretString: string };
          if (Math.abs(skewMs) > MAX_CLOCK_SKEW_MS) {
            this.violate(
              'skewed-writer-refused',
              undefined,
              `a writer ${skewMs / SECOND} s off AWS's clock wrote a secret`,
            );
          }
          this.noteWrite(input.SecretId, input.SecretString);
        }
        return result;
      },
      { step: 'initialize', name: 'chaosMirror' },
    );
    const dynamo = new DynamoDBClient(config);
    const events = new EventBridgeClient(config);
    const sns = new SNSClient(config);
    // The virtual clock may jump only while no call is under way, its retries' backoff included.
    for (const client of [secrets, dynamo, events, sns] as const) {
      (client.middlewareStack as { add: (m: unknown, o: unknown) => void }).add(
        (next: (args: unknown) => Promise<unknown>) => (args: unknown) =>
          httpActivity.during(() => next(args)),
        { step: 'initialize', name: 'chaosActivity', priority: 'high' },
      );
    }
    const notifier = new AwsNotifier({
      sns,
      events,
      topicArn: this.harness.topicArn,
      busName: this.harness.busName,
    });
    const alerts = new Alerts({
      store: new DynamoIncidentStore(dynamo, this.fixture.aws.tableName),
      notifier,
      clock: this.clock,
      logger: new Logger({ serviceName: 'servicenow-token-refresher' }),
      owner: `fn/chaos-env-${++this.envs}`,
      settings: this.harness.settings,
    });
    return {
      clock: envClock,
      secrets: new SecretsManagerSecretStore(secrets),
      state: new DynamoStateStore(dynamo, this.fixture.aws.tableName, new AwsClock(envClock)),
      incidents: new DynamoIncidentStore(dynamo, this.fixture.aws.tableName),
      notifier,
      alerts,
    };
  }

  private noteWrite(secretId: string, text: string) {
    for (const c of this.configs) {
      const mirror = this.mirrors.get(c.name) as Mirror;
      if (c.accessTokenSecretId === secretId) mirror.access = text;
      if (c.credentialsSecretId === secretId) mirror.credentials = text;
    }
  }

  /**
   * Short timeouts so a fault costs a fraction of a real second. A skewed environment stamps its
   * grants with its own clock, as a real one would: one set of clients per clock.
   */
  private snClient(instance: InstanceConfig, clock: Clock = this.clock): ServiceNowClient {
    const clients = this.snClients.get(clock) ?? new Map<string, ServiceNowClient>();
    this.snClients.set(clock, clients);
    let client = clients.get(instance.name);
    if (!client) {
      client = new ServiceNowClient(
        instance.url,
        { dispatcher: this.agent, clock },
        { connectTimeoutMs: 1_000, headersTimeoutMs: 250, bodyTimeoutMs: 250, overallTimeoutMs: 1_500 },
      );
      clients.set(instance.name, client);
    }
    return client;
  }

  private refresherEnvironment(skewMs = 0) {
    const aws = this.awsClients(skewMs);
    return createRefresher(
      {
        ...this.fixture.deps({
          clock: aws.clock,
          secrets: aws.secrets,
          state: aws.state,
          tokenEndpoint: (instance) => ({
            requestToken: async (grant) => {
              const outcome = await this.snClient(instance, aws.clock).requestToken(grant);
              const delayMs = this.slowGrants.get(instance.name);
              if (delayMs !== undefined) {
                // The answer arrives this late: ServiceNow has acted on the grant (and rotated) already.
                this.slowGrants.delete(instance.name);
                // Other runs' checks may come while it is on its way (runs overlap, as in Lambda).
                this.disruptedAt.set(instance.name, this.clock.now());
                await this.clock.sleep(delayMs);
                // A ServiceNow that answers this slowly is not "reachable" for the validity check.
                this.disruptedAt.set(instance.name, this.clock.now());
              }
              return outcome;
            },
          }),
          random: this.random,
        }),
        reporting: {
          alerts: aws.alerts,
          notifier: aws.notifier,
          metrics: createInstanceMetrics(),
          graceMs: this.harness.graceMs,
        },
      },
      this.configs,
    );
  }

  private proberEnvironment(): Prober {
    const aws = this.awsClients();
    return createProber(
      {
        clock: this.clock,
        logger: new Logger({ serviceName: 'servicenow-token-refresher' }),
        secrets: aws.secrets,
        state: aws.state,
        incidents: aws.incidents,
        alerts: aws.alerts,
        metrics: createInstanceMetrics(),
        refresher: {
          requestRefresh: async (instance) => {
            this.count(this.invocations, 'refresher (probe request)');
            const response = await this.probeRefresher({
              action: 'refresh',
              instances: [instance],
              force: true,
            });
            const result = response.results.find((r) => r.instance === instance);
            if (!result) throw new Error(`no result for ${instance}`);
            return result;
          },
        },
        client: (instance) => this.snClient(instance),
        graceMs: this.harness.graceMs,
      },
      this.configs,
    );
  }

  private count(into: Record<string, number>, key: string, by = 1) {
    into[key] = (into[key] ?? 0) + by;
  }

  private violate(invariant: Invariant, instance: string | undefined, detail: string, context?: string[]) {
    const now = this.clock.now();
    const episode = `${invariant}/${instance ?? ''}`;
    // A violation repeats at every check until its cause is gone: log context for its first one.
    const firstOfEpisode =
      now - (this.lastViolationAt.get(episode) ?? Number.NEGATIVE_INFINITY) > 10 * MINUTE;
    this.lastViolationAt.set(episode, now);
    this.violations.push({
      day: Number(((now - this.schedule.start) / DAY).toFixed(3)),
      invariant,
      instance,
      detail,
      ...(context
        ? { context }
        : firstOfEpisode &&
          instance !== undefined && {
            context: [
              ...this.fixture.logs.recentLines(`"instance":"${instance}"`, 25),
              'the latest runs:',
              ...this.runs,
              ...[...this.busy.values()].map((b) => `${b.label}: since ${iso(b.since)}, still going`),
            ],
          }),
    });
  }
  private readonly lastViolationAt = new Map<string, number>();

  async execute(): Promise<void> {
    for (const c of this.configs) {
      await this.renew(c.name);
      if (this.pendingRenewals.has(c.name)) throw new Error(`the first bootstrap of ${c.name} failed`);
    }
    const watch = () => {
      const aws = this.awsClients();
      return createExpiryWatch(
        {
          clock: this.clock,
          state: aws.state,
          incidents: aws.incidents,
          alerts: aws.alerts,
          metrics: createInstanceMetrics(),
          warningDays: [30, 14, 7, 3, 1],
          scheduleIntervalSeconds: 60,
          refreshAheadSeconds: 300,
        },
        this.configs,
      )();
    };
    let lastCheckpoint = this.clock.now();
    let lastDrain = this.clock.now();
    // EventBridge starts each run at its minute, whether or not the last one has ended.
    const warp = new TimeWarp(this.clock, { overlap: true })
      .every('refresher', MINUTE, async () => {
        await this.applyFaults();
        await this.tick();
        if (this.clock.now() - lastDrain >= HOUR) {
          lastDrain = this.clock.now();
          await this.drainEmails();
        }
        if (this.clock.now() - lastCheckpoint >= 6 * HOUR && this.busy.size === 0) {
          lastCheckpoint = this.clock.now();
          await httpActivity.during(() => this.checkpoint());
        }
      })
      .every('probe', 5 * MINUTE, async () => {
        const prober = this.prober;
        if (this.busy.has(prober)) {
          // Probes are read-mostly and every 5 minutes: one that outlasts its period just skips one.
          this.count(this.invocations, 'probe skipped (the last one still running)');
          return;
        }
        this.count(this.invocations, 'probe');
        await this.working(prober, () => prober(), 'probe');
      })
      .every('expiry-watch', DAY, async () => {
        this.count(this.invocations, 'expiry-watch');
        await watch();
      });
    await warp.runFor(this.schedule.end - this.clock.now(), (tick) => {
      if (tick.error) {
        this.errors.push(tick.error);
        this.count(this.invocations, `${tick.schedule} failed`);
        if (tick.schedule !== 'refresher') return;
        // A refresher tick only throws if the harness broke: its jobs catch their own errors.
        throw tick.error;
      }
    });
    // Every run has ended: the checks a busy last minute skipped.
    await this.checkMinute();
    await this.drainEmails();
    await this.checkpoint();
    this.checkEmails();
    this.checkOutput();
  }

  /** Starts and ends windows, and fires the events that are due. */
  private async applyFaults(): Promise<void> {
    const now = this.clock.now();
    for (const instance of this.fixture.instances) {
      const name = instance.config.name;
      const sim = instance.sim;
      const window = this.schedule.serviceNow.find(
        (w) => w.instance === name && w.start <= now && now < w.end,
      );
      const key = window ? `${window.kind}@${window.start}` : 'none';
      if (this.applied.get(name) !== key) {
        this.applied.set(name, key);
        sim.settings.hibernation = window?.hibernation ?? null;
        sim.settings.queueFull = window?.kind === 'rate-limited';
        sim.clearFaults();
        if (window?.fault) sim.addFault({ fault: window.fault, times: Number.POSITIVE_INFINITY });
        if (window) this.count(this.windowCounts, window.kind);
      }
      const awsDown = this.schedule.aws.some(
        (w) =>
          w.start <= now && now < w.end && w.services.some((s) => s === 'dynamodb' || s === 'secretsmanager'),
      );
      if (window || awsDown || this.pendingRenewals.has(name) || !this.refreshTokenLive(name)) {
        this.disruptedAt.set(name, now);
      }
    }
    while (this.nextEvent < this.schedule.events.length) {
      const event = this.schedule.events[this.nextEvent] as ChaosEvent;
      if (event.at > now) break;
      this.nextEvent++;
      await this.fire(event);
    }
  }

  private async fire(event: ChaosEvent): Promise<void> {
    this.count(this.eventCounts, event.kind);
    switch (event.kind) {
      case 'sporadic':
        this.fixture.instance(event.instance).sim.addFault({ fault: event.fault, times: 1 });
        return;
      case 'revoke': {
        const credentials = this.storedCredentials(event.instance);
        if (!credentials) return;
        this.fixture.instance(event.instance).sim.revoke(credentials.refreshToken);
        this.revokedByChaos.add(credentials.refreshToken);
        this.scheduleRenewal(event.instance, event.at + event.renewAfterMs);
        return;
      }
      case 'renew':
        this.scheduleRenewal(event.instance, event.at);
        return;
      case 'cold-start':
        this.refreshers = [this.refresherEnvironment()];
        if (this.random() < 0.5) this.probeRefresher = this.refresherEnvironment();
        if (this.random() < 0.5) this.prober = this.proberEnvironment();
        return;
      case 'duplicate-delivery':
        this.duplicate = true;
        return;
      case 'slow-grant':
        this.slowGrants.set(event.instance, event.delayMs);
        return;
      case 'skewed-writer':
        this.skewed = {
          handler: this.refresherEnvironment(event.skewMs),
          until: event.at + event.forMs,
          skewMs: event.skewMs,
        };
        return;
    }
  }

  private readonly slowGrants = new Map<string, number>();
  private skewed: { handler: Refresher; until: number; skewMs: number } | undefined;

  private duplicate = false;

  private scheduleRenewal(name: string, due: number) {
    const known = this.pendingRenewals.get(name);
    if (!known || known.due > due) this.pendingRenewals.set(name, { due, tries: known?.tries ?? 0 });
  }

  /** One scheduled minute: the refresher, with whatever races it this minute, then the checks. */
  private async tick(): Promise<void> {
    const now = this.clock.now();
    // A warm environment still busy with the last minute's run: Lambda starts another one.
    let env = this.refreshers.find((e) => !this.busy.has(e));
    if (!env) {
      env = this.refresherEnvironment();
      this.refreshers.push(env);
      this.count(this.invocations, 'refresher in another environment (the last run still going)');
    }
    const jobs: Promise<void>[] = [this.invokeRefresher(env, 'refresher')];
    if (this.duplicate) {
      this.duplicate = false;
      jobs.push(this.invokeRefresher(this.refresherEnvironment(), 'refresher (duplicate delivery)'));
    }
    if (this.skewed && this.skewed.until <= now) this.skewed = undefined;
    if (this.skewed && !this.busy.has(this.skewed.handler)) {
      if (Math.abs(this.skewed.skewMs) > MAX_CLOCK_SKEW_MS) this.checks['skewed-writer-refused']++;
      jobs.push(this.invokeRefresher(this.skewed.handler, 'refresher (skewed clock)'));
    }
    for (const [name, pending] of this.pendingRenewals) {
      const operator = `renew ${name}`;
      if (pending.due <= now && !this.busy.has(operator))
        jobs.push(this.working(operator, () => this.renew(name)));
    }
    await Promise.all(jobs);
    // No time passes while the checks read (the clock moves only while nothing is in flight).
    await httpActivity.during(() => this.checkMinute());
  }

  /**
   * The checks after a minute. Another run may be midway (its grant answered, its writes not yet
   * made): what only holds between runs is checked when none is under way; the access token's
   * checks hold at any moment.
   */
  private async checkMinute(): Promise<void> {
    const settled = this.busy.size === 0;
    // A rotation whose answer is still on its way to a run is not lost.
    if (settled) this.noteLostRotations();
    await this.checkTokens(settled);
    if (!settled) return;
    const toCheck = this.configs
      .map((c) => c.name)
      .filter((name) => this.written.has(name) || this.failedSinceAgreement.has(name));
    this.written.clear();
    if (toCheck.length) await this.checkAgreement(toCheck);
  }

  /** Instances written since the agreement was last checked. */
  private readonly written = new Set<string>();

  /** Runs `work` with `who` (an environment, an operator) marked busy, and notes when it ran. */
  private async working<T>(who: unknown, work: () => Promise<T>, label = String(who)): Promise<T> {
    const started = this.clock.now();
    this.busy.set(who, { label, since: started });
    let end = 'failed';
    try {
      const result = await work();
      end = 'ended';
      return result;
    } finally {
      this.busy.delete(who);
      this.runs.push(`${label}: ${iso(started)} to ${iso(this.clock.now())}, ${end}`);
      if (this.runs.length > RUNS_KEPT) this.runs.shift();
    }
  }

  /** The latest runs (which, from when to when): a violation's context. */
  private readonly runs: string[] = [];
  private simLogSeen = 0;

  /**
   * A rotating instance that rotated in an answer the network then broke (a slow or cut body): the
   * old refresh token is revoked and the new one never arrived. No client can recover it; the
   * refresher reports refresh-token-rejected with its fix, and the operator renews, as after a
   * revocation. Rotations whose answer did arrive are not excused: losing those is the product's.
   */
  private noteLostRotations(): void {
    const log = this.fixture.sim.log;
    for (const entry of log.slice(this.simLogSeen)) {
      if (!entry.result.startsWith('fault:') || entry.detail !== 'rotated-refresh-token') continue;
      const credentials = this.storedCredentials(entry.instance);
      if (!credentials || this.revokedByChaos.has(credentials.refreshToken)) continue;
      // Only when the answer really was lost: the stored token is the revoked one.
      if (!this.fixture.instance(entry.instance).sim.refreshToken(credentials.refreshToken)?.revoked)
        continue;
      this.count(this.eventCounts, 'rotation answer lost in transit');
      this.revokedByChaos.add(credentials.refreshToken);
      this.scheduleRenewal(entry.instance, this.clock.now() + HOUR);
    }
    this.simLogSeen = log.length;
  }

  private async invokeRefresher(handler: Refresher, label: string): Promise<void> {
    this.count(this.invocations, label);
    let response: RefreshResponse;
    try {
      response = await this.working(handler, () => handler({ source: 'aws.events' }), label);
    } catch (error) {
      this.errors.push(error);
      this.count(this.invocations, `${label} failed (AWS error, retried by the schedule)`);
      for (const c of this.configs) this.failedSinceAgreement.add(c.name);
      return;
    }
    for (const r of response.results) {
      this.count(this.invocations, `outcome ${r.outcome}`);
      if (r.outcome === 'refreshed' || r.outcome === 'current-token-returned') this.written.add(r.instance);
      // A writer that stopped midway (lease lapsing or taken over) leaves an intent the next one finishes.
      if (r.outcome === 'lease-lapsing' || r.outcome === 'lease-lost')
        this.failedSinceAgreement.add(r.instance);
    }
  }

  /** What `snow-token renew` does (the CLI calls exactly this), with the operator retrying every 10 minutes. */
  private async renew(name: string): Promise<void> {
    const instance = this.fixture.instance(name);
    const pending = this.pendingRenewals.get(name) ?? { due: 0, tries: 0 };
    this.count(this.invocations, 'renewal');
    const aws = this.awsClients();
    const retry = () => {
      if (pending.tries++ >= 50) throw new Error(`renewal of ${name} kept failing; the harness gives up`);
      this.pendingRenewals.set(name, { due: this.clock.now() + 10 * MINUTE, tries: pending.tries });
    };
    try {
      const result = await bootstrapWithPassword(
        {
          clock: this.clock,
          secrets: aws.secrets,
          state: aws.state,
          client: this.snClient(instance.config),
          owner: `cli/renew-${this.envs}`,
          alerts: aws.alerts,
        },
        instance.config,
        {
          clientId: instance.registry.clientId,
          clientSecret: instance.registry.clientSecret,
          username: instance.username,
          password: instance.password,
        },
      );
      this.count(this.invocations, `renewal ${result.kind}`);
      if (result.kind !== 'ok') {
        retry();
        return;
      }
      this.pendingRenewals.delete(name);
      this.written.add(name);
      this.checkRenewal(name);
    } catch (error) {
      this.errors.push(error);
      this.count(this.invocations, 'renewal failed (AWS error)');
      this.failedSinceAgreement.add(name);
      retry();
    }
  }

  private storedCredentials(name: string) {
    const text = this.mirrors.get(name)?.credentials;
    if (text === undefined) return undefined;
    const parsed = parseSecretJson(passwordCredentialsSchema, text);
    return parsed.kind === 'ok' ? parsed.value : undefined;
  }

  private storedAccessToken(name: string) {
    const text = this.mirrors.get(name)?.access;
    if (text === undefined) return undefined;
    const parsed = parseSecretJson(accessTokenSecretSchema, text);
    return parsed.kind === 'ok' ? parsed.value : undefined;
  }

  private refreshTokenLive(name: string): boolean {
    const credentials = this.storedCredentials(name);
    const record = credentials && this.fixture.instance(name).sim.refreshToken(credentials.refreshToken);
    return record !== undefined && !record.revoked && record.expiresAt > this.clock.now();
  }

  private checkRenewal(name: string) {
    this.checks['renewal-took-effect']++;
    const credentials = this.storedCredentials(name);
    const record = credentials && this.fixture.instance(name).sim.refreshToken(credentials.refreshToken);
    const recordedEnd = credentials
      ? Date.parse(credentials.refreshTokenIssuedAt) + credentials.refreshTokenLifespanSeconds * SECOND
      : 0;
    if (!record || record.revoked || Math.abs(record.expiresAt - recordedEnd) > 5 * SECOND) {
      this.violate(
        'renewal-took-effect',
        name,
        'after a successful renewal the stored refresh token is not the live one',
      );
    }
  }

  /**
   * A stored refresh token ServiceNow revoked by rotation may have its successor sealed in the state
   * (the credentials secret refused it): 'live' when that successor is ServiceNow's live token.
   */
  private async pendingRotation(
    name: string,
    credentials: CredentialsSecret,
  ): Promise<'live' | 'none' | 'revoked or unknown' | 'unreadable'> {
    const state = await this.fixture.state.get(name);
    if (state?.pendingRefreshToken === undefined || state.pendingRefreshTokenReplaces === undefined)
      return 'none';
    const opened = openPendingRefreshToken(
      name,
      { sealed: state.pendingRefreshToken, replacesFingerprint: state.pendingRefreshTokenReplaces },
      credentials,
    );
    if (opened.kind !== 'store') return opened.kind === 'unreadable' ? 'unreadable' : 'none';
    const record = this.fixture.instance(name).sim.refreshToken(opened.credentials.refreshToken);
    return record && !record.revoked ? 'live' : 'revoked or unknown';
  }

  /** After every minute: the refresh token kept, the access token valid and never overstated. */
  private async checkTokens(settled: boolean): Promise<void> {
    const now = this.clock.now();
    for (const instance of this.fixture.instances) {
      const name = instance.config.name;
      const sim = instance.sim;

      // A run under way may hold a rotated token it is about to store: checked between runs.
      if (settled) await this.checkRefreshTokenKept(name, now);

      const access = this.storedAccessToken(name);
      if (!access) continue;
      const record = sim.accessToken(access.accessToken);
      this.checks['access-token-expiry-not-overstated']++;
      if (!record || Date.parse(access.expiresAt) > record.expiresAt) {
        this.violate(
          'access-token-expiry-not-overstated',
          name,
          `stored expiry ${access.expiresAt} is later than ServiceNow's ${record ? iso(record.expiresAt) : '(unknown token)'} (token ${fingerprint(access.accessToken)})`,
        );
      }
      const healthySince = (this.disruptedAt.get(name) ?? this.schedule.start) + RECOVERY_GRACE_MS;
      if (now < healthySince) continue;
      this.checks['access-token-valid-when-reachable']++;
      const lapsedFor = record ? now - record.expiresAt : Number.POSITIVE_INFINITY;
      if (!record || record.revoked || lapsedFor > EXPIRY_WINDOW_MS) {
        this.violate(
          'access-token-valid-when-reachable',
          name,
          `ServiceNow and AWS reachable since ${iso(healthySince - RECOVERY_GRACE_MS)}, but the stored token lapsed ${Math.round(lapsedFor / SECOND)} s ago`,
        );
      }
    }
  }

  /** The stored refresh token is the live one ServiceNow last issued (or its successor waits, sealed, while AWS fails). */
  private async checkRefreshTokenKept(name: string, now: number): Promise<void> {
    const sim = this.fixture.instance(name).sim;
    this.checks['refresh-token-kept']++;
    const credentials = this.storedCredentials(name);
    if (!credentials) {
      this.violate('refresh-token-kept', name, 'the credentials secret does not hold valid credentials');
    } else {
      const history = this.refreshTokenHistory.get(name) ?? [];
      const token = credentials.refreshToken;
      if (history.at(-1) !== token) {
        if (history.includes(token)) {
          this.violate(
            'refresh-token-kept',
            name,
            `went back to an older refresh token (${fingerprint(token)})`,
          );
        }
        history.push(token);
        this.refreshTokenHistory.set(name, history);
      }
      const record = sim.refreshToken(token);
      const recordedEnd =
        Date.parse(credentials.refreshTokenIssuedAt) + credentials.refreshTokenLifespanSeconds * SECOND;
      if (!record) this.violate('refresh-token-kept', name, 'stored a refresh token ServiceNow never issued');
      else if (record.revoked && !this.revokedByChaos.has(token)) {
        const kept = await this.pendingRotation(name, credentials);
        if (kept === 'live') {
          // Secrets Manager refused the rotated token; the state keeps it sealed for the next writer.
          this.count(this.eventCounts, 'minutes a rotated refresh token waited, sealed in the state');
          const healthySince = (this.disruptedAt.get(name) ?? this.schedule.start) + RECOVERY_GRACE_MS;
          if (now >= healthySince) {
            this.violate(
              'refresh-token-kept',
              name,
              `AWS usable since ${iso(healthySince - RECOVERY_GRACE_MS)}, but the rotated refresh token is still only in the state`,
            );
          }
        } else {
          this.violate(
            'refresh-token-kept',
            name,
            `the stored refresh token was revoked by someone else${kept === 'none' ? '' : ` (the state keeps a rotated one that is ${kept})`}`,
          );
        }
      } else if (!record.revoked && recordedEnd > record.expiresAt) {
        this.violate(
          'refresh-token-kept',
          name,
          `recorded refresh-token end ${iso(recordedEnd)} is later than ServiceNow's ${iso(record.expiresAt)}`,
        );
      }
    }
  }

  /** The state table says what the secrets hold (fingerprints, expiry, refresh-token issue time). */
  private async checkAgreement(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const state = await this.fixture.state.get(name);
      const access = this.storedAccessToken(name);
      const credentials = this.storedCredentials(name);
      this.checks['state-agrees-with-secrets']++;
      const problems: string[] = [];
      if (!state || !access || !credentials) problems.push('missing state or secret');
      else {
        if (state.accessTokenFingerprint !== fingerprint(access.accessToken))
          problems.push('access-token fingerprint');
        // A handed-back token keeps its stored expiry unless it moved by more than 2 s. The virtual
        // clock has fractions of a millisecond that ISO 8601 drops: up to 1 ms less is the same time.
        const expiryGap = Date.parse(access.expiresAt) - (state.accessTokenExpiresAt ?? 0);
        if (expiryGap <= -1 || expiryGap > 2 * SECOND)
          problems.push(`access-token expiry differs by ${expiryGap} ms`);
        if (state.refreshTokenFingerprint !== fingerprint(credentials.refreshToken))
          problems.push('refresh-token fingerprint');
        if (state.refreshTokenIssuedAt !== Date.parse(credentials.refreshTokenIssuedAt))
          problems.push('refresh-token issue time');
      }
      if (problems.length === 0) {
        this.failedSinceAgreement.delete(name);
      } else if (!this.failedSinceAgreement.has(name)) {
        this.violate('state-agrees-with-secrets', name, problems.join(', '));
      } else {
        this.count(this.invocations, 'disagreement after an AWS failure (healing)');
      }
    }
  }

  /** Every 6 hours: what the system wrote is what Secrets Manager holds (so the checks above read the truth). */
  private async checkpoint(): Promise<void> {
    for (const c of this.configs) {
      const mirror = this.mirrors.get(c.name) as Mirror;
      for (const [id, expected] of [
        [c.accessTokenSecretId, mirror.access],
        [c.credentialsSecretId, mirror.credentials],
      ] as const) {
        this.checks['secrets-match-what-was-written']++;
        const actual = await this.fixture.rawSecret(id);
        if (actual !== expected) {
          this.violate(
            'secrets-match-what-was-written',
            c.name,
            `secret ${id.split(':').at(-1)} differs from the last write`,
          );
        }
      }
    }
    await this.checkAgreement(this.configs.map((c) => c.name));
  }

  private readonly openedContext = new Map<string, string[]>();

  private async drainEmails(): Promise<void> {
    const at = this.clock.now();
    for (const email of await this.harness.emails()) {
      this.emails.push({ at, email });
      const { instance = '', kind, notice } = email.attributes;
      if (notice === 'opened') {
        // What led to it, for a check at the end that finds it unjustified.
        this.openedContext.set(`${instance}/${kind}/${at}`, [
          `email: ${email.subject}`,
          ...email.body.split('\n').slice(0, 6),
          ...this.fixture.logs.recentLines(`"instance":"${instance}"`, 25),
        ]);
      }
      // The operator reacts to the countdown's first warning, as the runbook says.
      if (kind === 'refresh-token-expiry' && notice === 'opened') {
        this.scheduleRenewal(instance, at + (1 + this.random() * 47) * HOUR);
      }
    }
  }

  /** Per instance and kind: opened, reminders, resolved; all closed after the quiet days; outages announced. */
  private checkEmails(): void {
    const sequences = new Map<string, { at: number; notice: string }[]>();
    for (const { at, email } of this.emails) {
      const key = `${email.attributes.instance}/${email.attributes.kind}`;
      sequences.set(key, [...(sequences.get(key) ?? []), { at, notice: email.attributes.notice ?? '' }]);
    }
    const openIntervals: { instance: string; kind: string; from: number; to: number }[] = [];
    for (const [key, notices] of sequences) {
      const [instance = '', kind = ''] = key.split('/');
      let openSince: number | undefined;
      const told = (upTo: number) =>
        notices
          .slice(Math.max(0, upTo - 3), upTo + 1)
          .map((n) => `${n.notice} (drained ${iso(n.at)})`)
          .join(', ');
      for (const [index, { at, notice }] of notices.entries()) {
        this.checks['emails-one-open-one-recovery']++;
        const open = openSince !== undefined;
        if (index > 0 && notices[index - 1]?.notice === notice && notice !== 'reminder') {
          this.violate(
            'emails-one-open-one-recovery',
            instance,
            `${kind}: duplicate "${notice}" email: ${told(index)}`,
          );
          continue;
        }
        if (notice === 'opened' && !open) openSince = at;
        else if (notice === 'resolved' && open) {
          openIntervals.push({ instance, kind, from: openSince as number, to: at });
          openSince = undefined;
        } else if ((notice === 'reminder' || notice === 'escalated') && open) {
          // part of the open incident
        } else {
          this.violate(
            'emails-one-open-one-recovery',
            instance,
            `${kind}: "${notice}" while the incident was ${open ? 'open' : 'closed'}: ${told(index)}`,
          );
        }
      }
      this.checks['emails-one-open-one-recovery']++;
      if (openSince !== undefined) {
        this.violate(
          'emails-one-open-one-recovery',
          instance,
          `${kind}: still open after the quiet days, no recovery email`,
        );
      }
    }
    const outageKinds = ['unavailable', 'rate-limited'];
    for (const w of this.schedule.serviceNow) {
      if (w.end - w.start < ANNOUNCE_AFTER_MS) continue;
      this.checks['long-outages-announced']++;
      const announced = openIntervals.some(
        (o) =>
          o.instance === w.instance &&
          outageKinds.includes(o.kind) &&
          o.from <= w.end + HOUR &&
          o.to >= w.start,
      );
      if (!announced) {
        this.violate(
          'long-outages-announced',
          w.instance,
          `${w.kind} from ${iso(w.start)} for ${Math.round((w.end - w.start) / MINUTE)} min sent no email`,
        );
      }
    }
    for (const o of openIntervals) {
      if (!outageKinds.includes(o.kind)) continue;
      this.checks['no-false-alarms']++;
      const cause = this.schedule.serviceNow.some(
        (w) => w.instance === o.instance && w.start <= o.from && o.from <= w.end + 2 * HOUR,
      );
      if (!cause)
        this.violate(
          'no-false-alarms',
          o.instance,
          `${o.kind} opened at ${iso(o.from)} without an outage`,
          this.openedContext.get(`${o.instance}/${o.kind}/${o.from}`),
        );
    }
    for (const { email } of this.emails)
      this.count(this.emailCounts, `${email.attributes.kind} ${email.attributes.notice}`);
  }

  private readonly emailCounts: Record<string, number> = {};

  /** No client secret, password or token in any log line, email or error. */
  private checkOutput(): void {
    const texts = [
      this.fixture.logs.text(),
      ...this.emails.map(
        ({ email }) => `${email.subject}\n${email.body}\n${JSON.stringify(email.attributes)}`,
      ),
      ...this.errors.map((e) => (e instanceof Error ? `${e.message}\n${e.stack}` : String(e))),
    ];
    const secrets = this.fixture.secretValues();
    for (const text of texts) {
      this.checks['no-secret-in-output']++;
      const leaked = secrets.filter((s) => text.includes(s));
      if (leaked.length) {
        this.violate(
          'no-secret-in-output',
          undefined,
          `${leaked.length} secret value(s) in output, e.g. ${fingerprint(leaked[0] as string)}`,
        );
      }
    }
  }

  report(options: ChaosOptions, modes: Record<string, EarlyRefreshMode>, wallSeconds: number): ChaosReport {
    const serviceNowFaults: Record<string, number> = {};
    for (const entry of this.fixture.sim.log) {
      if (entry.result.startsWith('fault:') || ['hibernating', 'queue-full'].includes(entry.result)) {
        this.count(serviceNowFaults, entry.result.replace('fault:', ''));
      }
      if (entry.result.startsWith('rejected:') && entry.grantType === 'refresh_token') {
        this.count(serviceNowFaults, 'refresh rejected (revoked token)');
      }
    }
    return {
      seed: options.seed,
      days: options.days,
      instances: modes,
      wallSeconds: Math.round(wallSeconds),
      serviceNowWindows: this.windowCounts,
      serviceNowFaults,
      awsFaults: { ...this.proxy.injected, forwarded: this.proxy.forwarded },
      awsCalls: this.proxy.calls,
      events: this.eventCounts,
      invocations: this.invocations,
      emails: this.emailCounts,
      checks: this.checks,
      violations: this.violations,
    };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
