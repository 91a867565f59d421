import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { handoff } from '../cli/commands/handoff';
import type { CliContext } from '../cli/context';
import type { ConsumerWatchDeps } from '../lambda/expiry-watch/consumer-watch';
import { ConsumerTokenStore } from '../lambda/shared/consumers/consumer-tokens';
import type { RefreshRequester } from '../lambda/shared/refresh-requester';
import { AlertingHarness } from './alerting-harness';
import { recordingTerminal } from './recording-terminal';
import type { RefresherFixture } from './refresher-fixture';
import type { RegistryRecord } from './servicenow-simulator';
import { TimeWarp } from './time-warp';

/**
 * What `snow-token handoff <instance> --to <consumer>` does, run in-process on the harness's
 * virtual clock (a subprocess would live on real time): the real command with its answers piped.
 */
export class ConsumerHandoffs {
  readonly store: ConsumerTokenStore;
  readonly client: RegistryRecord;

  /** What the expiry watch is given for tokens held by other tools. */
  watchDeps(): ConsumerWatchDeps {
    const f = this.alerting.fixture;
    return {
      store: this.store,
      secrets: f.secrets,
      serviceNow: (instance) => f.client(instance.name),
      logger: new Logger({ serviceName: 'servicenow-token-refresher' }),
    };
  }

  constructor(private readonly alerting: AlertingHarness) {
    const f = alerting.fixture;
    this.store = new ConsumerTokenStore(f.aws.dynamo, f.aws.tableName);
    // The tool gets an OAuth client of its own, as docs/exalate.md advises.
    const clientSecret = `cs-exalate-${randomBytes(12).toString('hex')}`;
    // The same client on every instance of the fixture (a tool set up the same way on each).
    const [first] = f.instances.map((i) => i.sim.addRegistry({ clientId: 'exalate-client', clientSecret }));
    this.client = first as RegistryRecord;
  }

  async handoff(consumer: string, options: { readonly watch?: boolean; readonly name?: string } = {}) {
    const f = this.alerting.fixture;
    const instance = f.instance(options.name);
    const { terminal, said } = recordingTerminal(`${this.client.clientSecret}\n${instance.password}\n`);
    const refresher: RefreshRequester = {
      requestRefresh: () => Promise.reject(new Error('handoff never asks the refresher')),
    };
    const ctx: CliContext = {
      deployment: {
        stackName: 'Test',
        instances: f.instances.map((i) => i.config),
        stateTableName: f.aws.tableName,
        alertTopicArn: this.alerting.topicArn,
        refresherFunctionName: 'not-here',
        refreshAheadSeconds: 300,
        scheduleIntervalSeconds: 60,
      },
      terminal,
      clock: f.clock,
      secrets: f.secrets,
      state: f.state,
      incidents: this.alerting.incidents,
      consumers: this.store,
      alerts: this.alerting.alerts(),
      notifier: this.alerting.notifier,
      refresher,
      serviceNow: (i) => f.client(i.name),
      json: false,
    };
    const code = await handoff(ctx, instance.config, {
      consumer,
      clientId: this.client.clientId,
      username: instance.username,
      passwordStdin: true,
      watch: options.watch ?? false,
    });
    if (code !== 0) throw new Error(`handoff failed (${code}): ${said.join('\n')}`);
    const record = (await this.store.list(instance.config.name)).find((t) => t.consumer === consumer);
    if (!record) throw new Error('handoff recorded nothing');
    return { record, printed: said.join('\n') };
  }
}

const DAY = 86_400_000;

/**
 * The expiry watch as deployed, once a day on the fixture's clock, watching the tokens handed off
 * through `handoffs` too. `until(day)` lives to that day after the start; a run's error is kept in
 * `errors` rather than stopping the days.
 */
export async function dailyConsumerWatch(fixture: RefresherFixture) {
  const alerting = await AlertingHarness.create(fixture);
  const handoffs = new ConsumerHandoffs(alerting);
  const watch = alerting.watch({ consumerTokens: handoffs.watchDeps() });
  const start = fixture.clock.now();
  const warp = new TimeWarp(fixture.clock).every('expiry-watch', DAY, watch);
  const errors: unknown[] = [];
  const until = (day: number) =>
    warp.runFor(start + day * DAY - fixture.clock.now(), (tick) => {
      if (tick.error) errors.push(tick.error);
    });
  return { alerting, handoffs, start, errors, until };
}
