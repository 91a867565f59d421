import { runSyncJob } from '../../examples/sync-job';
import { AlertingHarness } from '../../harness/alerting-harness';
import { ConsumerHandoffs } from '../../harness/consumer-handoff';
import { RefresherFixture, recordSecretWrites, type SecretWrite } from '../../harness/refresher-fixture';
import { type TickEvent, TimeWarp } from '../../harness/time-warp';
import { syncJobTokenClient } from '../../harness/token-client-fixture';
import type { ProbeReport } from '../../lambda/probe/prober';
import type { RefreshResponse } from '../../lambda/shared/refresh-requester';
import { startLocalAws } from './local-aws';
import { Narrator } from './narrator';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Exalate's recommended access-token lifespan: twelve tokens a day keep the run short. */
const ACCESS_TOKEN_LIFESPAN_SECONDS = 7200;
const PROBE_INTERVAL_MS = 5 * MINUTE;
const OUTAGE_MS = 2 * HOUR;

export interface DemoOptions {
  /**
   * The same events with shorter phases and one bigger jump (about 15 s instead of about a minute),
   * for the test. `npm run demo` runs the whole timeline.
   * @default false
   */
  readonly fast?: boolean;
  /** Where the narration goes. @default process.stdout */
  readonly write?: (text: string) => void;
  /** @default false */
  readonly color?: boolean;
  /** Stops the timeline at the next scheduled run; cleanup still happens. */
  readonly signal?: AbortSignal;
}

export interface DemoResult {
  /** Everything the demo printed. */
  readonly printed: string;
  readonly simulatedDays: number;
  /** Simulated days skipped with a narrated clock jump. */
  readonly jumpedDays: number;
  readonly wallMs: number;
}

/** The days (from the first password grant) at which each phase happens. */
interface Plan {
  readonly syncJobDay: number;
  readonly outageStartDay: number;
  readonly afterOutageDay: number;
  /**
   * Days before the refresh token's end (day 100) around which the timeline runs live, long enough
   * for one daily watch to send that warning; the days between are jumped over.
   */
  readonly countdown: readonly number[];
  /** The renewal comes this long before the end, after the last warning, as a busy operator's would. */
  readonly renewDaysLeft: number;
  /** Runs on past the old end, to show refreshes carrying on with the renewed refresh token. */
  readonly endDay: number;
}

const REFRESH_TOKEN_DAYS = 100;
const INDENT = ' '.repeat(33);

const FULL: Plan = {
  syncJobDay: 1,
  outageStartDay: 2 + 10 / 24,
  afterOutageDay: 3,
  countdown: [30, 14, 7, 3, 1],
  renewDaysLeft: 0.4,
  endDay: 100.5,
};

const FAST: Plan = {
  syncJobDay: 0.5,
  outageStartDay: 1,
  afterOutageDay: 1 + 6 / 24,
  countdown: [1],
  renewDaysLeft: 0.4,
  endDay: 100.1,
};

/**
 * Months of one ServiceNow instance on an accelerated clock: the simulator plays ServiceNow, moto
 * plays AWS, and the real refresher, probe and expiry-watch cores run on their deployed schedules.
 * Narrates what happens: refreshes (summarised), a sync job, an outage with its alert and recovery
 * emails, the countdown to the refresh token's end, and a renewal. Throws on anything unexpected.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const wallStart = Date.now();
  // Taken before the fixture starts capturing the functions' log lines from stdout.
  const write = options.write ?? process.stdout.write.bind(process.stdout);
  const plan = options.fast ? FAST : FULL;
  const boot = new Narrator(write, options.color ?? false, Date.now(), Date.now);
  boot.line(boot.style('servicenow-token-refresher demo', 'bold'));
  boot.line(
    'ServiceNow is played by the simulator, AWS by the local emulator (moto); the refresher, probe and expiry',
  );
  boot.line('watch are the real function cores, on their deployed schedules, with a clock that runs fast.');
  boot.line();
  boot.line('Starting the local AWS emulator (the first run installs it into .venv, once)...');
  const moto = await startLocalAws();
  let fixture: RefresherFixture | undefined;
  try {
    fixture = await RefresherFixture.create({
      instances: [{ name: 'acme', settings: { tableRows: 25, incidentRows: 25 } }],
      registry: { accessTokenLifespanSeconds: ACCESS_TOKEN_LIFESPAN_SECONDS },
    });
    const demo = await DemoWorld.create(fixture, write, options);
    await demo.run(plan);
    return {
      printed: `${boot.text()}\n${demo.say.text()}`,
      simulatedDays: plan.endDay,
      jumpedDays: demo.jumpedDays,
      wallMs: Date.now() - wallStart,
    };
  } finally {
    await fixture?.close();
    await moto.stop();
  }
}

/** Counters for one stretch of the timeline, summarised when it ends. */
interface Tally {
  refreshed: number;
  echoed: number;
  probes: number;
  tokenEvents: number;
}

class DemoWorld {
  readonly say: Narrator;
  private readonly start: number;
  private readonly writes: SecretWrite[];
  private readonly refresher: ReturnType<AlertingHarness['refreshHandler']>;
  private readonly prober: ReturnType<AlertingHarness['prober']>;
  private readonly watch: ReturnType<AlertingHarness['watch']>;
  /** The stand-in "Exalate": a tool that holds its own refresh token, handed off with snow-token. */
  private readonly exalate: ConsumerHandoffs;
  private exalateToken = '';
  private warp: TimeWarp;
  private tally: Tally = { refreshed: 0, echoed: 0, probes: 0, tokenEvents: 0 };
  private stretchStart: number;
  private lastVerdict = 'ok';
  private shownRefreshes = 0;
  private learnedEcho = false;
  private lastFailure: string | undefined;
  private jumpedMs = 0;
  /** False right after a jump: the token live then lapsed while nothing ran, which says nothing. */
  private countLiveToken = true;

  private constructor(
    private readonly fixture: RefresherFixture,
    private readonly alerting: AlertingHarness,
    write: (text: string) => void,
    private readonly options: DemoOptions,
  ) {
    this.start = fixture.clock.now();
    this.stretchStart = this.start;
    this.say = new Narrator(write, options.color ?? false, this.start, () => fixture.clock.now());
    this.writes = recordSecretWrites(fixture);
    this.refresher = alerting.refreshHandler();
    // The probe asks its own refresher environment for immediate refreshes, as the deployed one does.
    this.prober = alerting.prober(alerting.refreshHandler());
    this.exalate = new ConsumerHandoffs(alerting);
    this.watch = alerting.watch({ consumerTokens: this.exalate.watchDeps() });
    this.warp = this.schedules();
  }

  static async create(fixture: RefresherFixture, write: (text: string) => void, options: DemoOptions) {
    const alerting = await AlertingHarness.create(fixture);
    return new DemoWorld(fixture, alerting, write, options);
  }

  private get instance() {
    return this.fixture.instance();
  }

  async run(plan: Plan): Promise<void> {
    const { say } = this;
    say.line(
      `Ready: secrets, state table, SNS topic (an SQS queue subscribed reads the emails), EventBridge bus, and`,
    );
    say.line(
      `a simulated instance "acme" issuing ${ACCESS_TOKEN_LIFESPAN_SECONDS / 3600}-hour access tokens and 100-day refresh tokens.`,
    );
    say.line(
      `Schedules: refresher every minute, probe every ${PROBE_INTERVAL_MS / MINUTE} minutes, expiry watch daily.`,
    );

    say.heading('Day 0: bootstrap');
    const boot = await this.alerting.renew();
    say.event(
      `ops runs ${say.style('snow-token bootstrap acme', 'cyan')}: one password grant (the password is never stored)`,
    );
    say.event(
      `  refresh token ends ${say.date(boot.refreshTokenExpiresAt)}: 100 days, and refreshing does not extend it`,
    );

    await this.handOffToExalate('snow-token handoff acme --to exalate --watch');

    say.heading('Normal days: the refresher keeps the stored token valid');
    await this.until(plan.syncJobDay);
    await this.syncJob();
    await this.exalateSyncs();
    await this.until(plan.outageStartDay);
    this.summarise();

    say.heading(`An outage: ServiceNow answers 503 for ${OUTAGE_MS / HOUR} hours`);
    await this.until(plan.outageStartDay);
    this.instance.sim.addFault({ fault: { kind: 'status', status: 503 }, times: Number.POSITIVE_INFINITY });
    say.event('ServiceNow starts answering 503 Service Unavailable to everything', 'magenta');
    await this.until(plan.outageStartDay + OUTAGE_MS / DAY);
    this.instance.sim.clearFaults();
    say.event('ServiceNow answers normally again', 'magenta');
    await this.until(plan.afterOutageDay);
    this.summarise();

    say.heading('Countdown: the refresh token reaches the end of its 100 days');
    say.line(
      'Between the warnings nothing happens but routine refreshes, so the clock jumps (⏩) from one to the next;',
    );
    say.line(
      'the functions do not run during a jump, and the first refresher run after one finds the stored token lapsed',
    );
    say.line('and stores a new one at once. Those lapses are left out of the summaries.');
    for (const daysLeft of plan.countdown) {
      const warningDay = REFRESH_TOKEN_DAYS - daysLeft;
      this.jumpTo(Math.min(warningDay - 0.5, REFRESH_TOKEN_DAYS - plan.renewDaysLeft - 1.1));
      await this.until(Math.min(warningDay + 0.6, REFRESH_TOKEN_DAYS - plan.renewDaysLeft));
    }
    await this.until(REFRESH_TOKEN_DAYS - plan.renewDaysLeft);
    this.summarise();
    await this.renew();
    await this.handOffToExalate('snow-token handoff acme --to exalate --watch');
    await this.exalateSyncs();
    await this.until(REFRESH_TOKEN_DAYS);
    say.event("the first refresh token's 100 days are over; refreshes carry on with the renewed one");
    await this.until(plan.endDay);
    this.summarise();
    await this.mailbox();

    this.checkNoSecretPrinted();
  }

  /** Runs every schedule due until `day` (from the bootstrap). */
  private async until(day: number): Promise<void> {
    const duration = this.start + day * DAY - this.fixture.clock.now();
    await this.warp.runFor(duration, (tick) => this.onTick(tick));
  }

  /** Skips to `day` when it is at least an hour ahead; the schedules restart from there. */
  private jumpTo(day: number): void {
    const target = this.start + day * DAY;
    const skipped = target - this.fixture.clock.now();
    if (skipped < HOUR) return;
    const routine = Math.round(skipped / (ACCESS_TOKEN_LIFESPAN_SECONDS * 1000));
    this.summarise();
    this.say.event(
      `⏩ jumping ${(skipped / DAY).toFixed(1)} days (about ${routine} routine refreshes) to ${this.say.date(target)}`,
      'yellow',
    );
    this.jumpedMs += skipped;
    this.fixture.clock.advanceTo(target);
    this.stretchStart = this.fixture.clock.now();
    this.countLiveToken = false;
    // The missed runs are not replayed: the schedules start again from here.
    this.warp = this.schedules();
  }

  get jumpedDays(): number {
    return this.jumpedMs / DAY;
  }

  private schedules(): TimeWarp {
    return new TimeWarp(this.fixture.clock)
      .every('refresher', MINUTE, () =>
        this.refresher({ source: 'aws.events', 'detail-type': 'Scheduled Event' }),
      )
      .every('probe', PROBE_INTERVAL_MS, () => this.prober())
      .every('expiry-watch', DAY, this.watch)
      .every('mailbox', 15 * MINUTE, () => this.mailbox());
  }

  private async onTick(tick: TickEvent): Promise<void> {
    if (this.options.signal?.aborted) throw new Error('interrupted');
    if (tick.error) {
      throw new Error(`the ${tick.schedule} run at ${this.say.stamp(tick.at)} failed: ${String(tick.error)}`);
    }
    if (tick.schedule === 'refresher') this.onRefresh(tick.result as RefreshResponse);
    if (tick.schedule === 'probe') this.onProbe(tick.result as ProbeReport[]);
  }

  private onRefresh(response: RefreshResponse): void {
    for (const result of response.results) {
      if (
        this.lastFailure &&
        (result.outcome === 'refreshed' || result.outcome === 'current-token-returned')
      ) {
        this.say.event(`refresher: working again after "${this.lastFailure}"`, 'green');
        this.lastFailure = undefined;
      }
      if (
        result.outcome !== 'refreshed' &&
        result.outcome !== 'current-token-returned' &&
        result.outcome !== 'not-due'
      ) {
        if (result.outcome !== this.lastFailure) this.reportFailure(result);
        this.lastFailure = result.outcome;
        continue;
      }
      if (result.outcome === 'refreshed') {
        this.tally.refreshed++;
        if (this.shownRefreshes < 2) {
          this.shownRefreshes++;
          this.say.event(
            `refresher: new access token stored, valid until ${this.say.date(Date.parse(result.accessTokenExpiresAt ?? ''))}`,
            'green',
          );
          if (this.shownRefreshes === 2) {
            this.say.event('  (from here on, refreshes are summarised at the end of each stretch)', 'dim');
          }
        }
      } else if (result.outcome === 'current-token-returned') {
        this.tally.echoed++;
        if (!this.learnedEcho) {
          this.learnedEcho = true;
          this.say.event(
            'refresher: an early refresh got the CURRENT token back (ServiceNow does that); it learns to ask at the exact lapse instead',
            'yellow',
          );
        }
      }
    }
  }

  /** A failure is told once when it starts, not on every retry. */
  private reportFailure(result: RefreshResponse['results'][number]): void {
    this.say.event(
      `refresher: ${result.outcome}${result.detail ? ` (${result.detail})` : ''}; retrying on its schedule`,
      result.outcome === 'busy' ? 'dim' : 'red',
    );
  }

  private onProbe(reports: readonly ProbeReport[]): void {
    for (const report of reports) {
      this.tally.probes++;
      if (report.verdict === this.lastVerdict) continue;
      this.lastVerdict = report.verdict;
      const healthy = report.verdict === 'ok' || report.verdict === 'ok-after-refresh';
      this.say.event(
        `probe: ${report.verdict}${report.detail ? ` (${report.detail})` : ''}`,
        healthy ? 'green' : 'red',
      );
    }
  }

  /** Prints the emails and counts the events delivered since the last look. */
  private async mailbox(): Promise<void> {
    for (const email of await this.alerting.emails()) this.say.email(email);
    const events = await this.alerting.events();
    this.tally.tokenEvents += events.filter((e) => e.detailType === 'Token Refreshed').length;
  }

  private async syncJob(): Promise<void> {
    const { tokens, reads, invocations } = syncJobTokenClient(this.fixture);
    // Incident records talk of hibernation, offline printers and maintenance: data, never an outage.
    const result = await runSyncJob({ tokens, clock: this.fixture.clock, table: 'incident' });
    if (result.failed.length > 0 || result.synced !== result.listed || result.listed === 0) {
      throw new Error(`the sync job did not sync every record: ${JSON.stringify(result)}`);
    }
    this.say.event(
      `sync job (examples/sync-job.ts): listed ${result.listed} incident records and synced ${result.synced} (their text mentions hibernation, offline, maintenance); ` +
        `${reads.count} secret read(s), ${invocations.length} refresh request(s)`,
      'green',
    );
  }

  /**
   * What Exalate's admin does instead of the guide's curl step. The token is shown once to ops by
   * the real command; the narration never prints it.
   */
  private async handOffToExalate(command: string): Promise<void> {
    const { record, printed } = await this.exalate.handoff('exalate', { watch: true });
    this.exalateToken = /^Refresh token: +(\S+)$/m.exec(printed)?.[1] ?? '';
    if (!this.exalateToken) throw new Error('the handoff showed no refresh token');
    const ends = this.say.date(record.issuedAt + record.lifespanSeconds * 1000);
    this.say.event(
      `ops runs ${this.say.style(command, 'cyan')}: password and client secret asked hidden, one password grant, one refresh grant to check it (${record.rotating ? 'rotating!' : 'not rotating'})`,
    );
    this.say.event(
      `  the stand-in "Exalate" gets client id ${record.clientId} and the refresh token (shown once to ops, not here); it ends ${ends}`,
    );
    this.say.event(
      '  the deployment tracks it (fingerprint only) and checks it once a day with one refresh grant',
    );
    await this.mailbox();
  }

  /** The stand-in Exalate refreshes with the token it holds, as Exalate does on each sync. */
  private async exalateSyncs(): Promise<void> {
    const outcome = await this.fixture.client().requestToken({
      grantType: 'refresh_token',
      clientId: this.exalate.client.clientId,
      clientSecret: this.exalate.client.clientSecret,
      refreshToken: this.exalateToken,
    });
    if (outcome.kind !== 'ok') throw new Error(`the stand-in Exalate could not refresh: ${outcome.kind}`);
    this.say.event('stand-in "Exalate" syncs: ServiceNow accepts its refresh token', 'green');
  }

  private async renew(): Promise<void> {
    const renewed = await this.alerting.renew();
    this.say.event(
      `ops runs ${this.say.style('snow-token renew acme', 'cyan')}: one password grant; the refresh token now ends ${this.say.date(renewed.refreshTokenExpiresAt)}`,
    );
    await this.mailbox();
  }

  /** One line for the stretch just lived: tokens stored, ServiceNow calls, how long a stored token was stale. */
  private summarise(): void {
    const now = this.fixture.clock.now();
    const from = this.stretchStart;
    const secretId = this.instance.config.accessTokenSecretId;
    const stored = this.writes.filter((w) => w.secretId === secretId);
    let worstMs = 0;
    let tokens = 0;
    for (let i = 0; i < stored.length; i++) {
      const write = stored[i];
      const replacedAt = Math.min(stored[i + 1]?.at ?? now, now);
      // Tokens stored in this stretch, and the one live when it began.
      if (!write || write.at > now || replacedAt < from) continue;
      if (write.at < from && !this.countLiveToken) continue;
      const token = String(write.value.accessToken);
      if (stored[i + 1]?.value.accessToken === token) continue;
      if (write.at >= from) tokens++;
      const realExpiry = this.instance.sim.accessToken(token)?.expiresAt ?? write.at;
      worstMs = Math.max(worstMs, replacedAt - Math.max(realExpiry, from));
    }
    const calls = this.fixture.sim.log.filter((r) => r.at >= from && r.at <= now);
    const grants = calls.filter((r) => r.path === '/oauth_token.do').length;
    const days = ((now - from) / DAY).toFixed(1);
    const t = this.tally;
    if (now - from >= MINUTE) {
      this.say.event(
        `${days} days lived: ${tokens} access tokens stored (${t.refreshed} refreshes; ${t.echoed} early asks got the current token back); ` +
          `stored token expired for at most ${formatDuration(Math.max(0, worstMs))}`,
        'cyan',
      );
      this.say.line(
        `${INDENT}ServiceNow saw ${grants} token requests and ${calls.length - grants} probe calls; EventBridge got ${t.tokenEvents} "Token Refreshed" events`,
      );
    }
    this.tally = { refreshed: 0, echoed: 0, probes: 0, tokenEvents: 0 };
    this.stretchStart = now;
    this.countLiveToken = true;
  }

  private checkNoSecretPrinted(): void {
    const printed = this.say.text();
    const leaked = this.fixture.secretValues().filter((secret) => printed.includes(secret)).length;
    if (leaked > 0) {
      throw new Error(`the demo printed ${leaked} secret value(s); the output above must not be shared`);
    }
  }
}

function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.round(ms / MINUTE);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
