import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AlertingHarness } from '../../harness/alerting-harness';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { TimeWarp } from '../../harness/time-warp';
import { createRefresher } from '../../lambda/refresher/refresher';
import { Alerts } from '../../lambda/shared/alerts/alerts';
import { AwsNotifier } from '../../lambda/shared/alerts/notifier';
import { createInstanceMetrics } from '../../lambda/shared/metrics';
import type { DailyUsage } from './cost-model';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The functions' memory (lib/token-function.ts default). */
const MEMORY_GB = 256 / 1024;
/** Lambda bills at least 1 ms per invocation. */
const MIN_BILLED_MS = 1;
/** START, END and REPORT platform lines per invocation in JSON log format (approximate). */
const PLATFORM_LOG_BYTES = 600;
/** Countdown warnings (5 per 100 days), a renewal notice and the odd incident: an assumption. */
const EMAILS_PER_INSTANCE_MONTH = 3;

interface Invocation {
  readonly schedule: string;
  readonly aws: number;
  readonly serviceNow: number;
  readonly tokenRequests: number;
  readonly refreshed: number;
  readonly durationMs: number;
}

export interface CallCounts {
  readonly days: number;
  readonly refreshes: number;
  readonly awsPerRefresh: { readonly mean: number; readonly max: number };
  readonly serviceNowPerRefresh: { readonly mean: number; readonly max: number };
  /** Scheduled refresher runs that refreshed nothing, per instance. */
  readonly awsPerSteadyCheck: { readonly mean: number; readonly max: number };
  readonly awsPerProbe: { readonly mean: number; readonly max: number };
  readonly serviceNowPerProbe: number;
  readonly awsByCommand: Readonly<Record<string, number>>;
  readonly usage: DailyUsage;
  /** Billed custom metrics the day's EMF lines define: with an instance dimension, and without. */
  readonly metrics: { readonly shared: number; readonly perInstance: number };
}

/** Each distinct (metric name, dimension values) an EMF line defines is one billed custom metric. */
function customMetrics(records: readonly Record<string, unknown>[]) {
  const shared = new Set<string>();
  const perInstance = new Set<string>();
  for (const record of records) {
    const aws = record._aws as
      | { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] }
      | undefined;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const dimensions of directive.Dimensions) {
        for (const metric of directive.Metrics) {
          const id = [directive.Namespace, metric.Name, ...dimensions.map((d) => `${d}=${record[d]}`)].join(
            '|',
          );
          (dimensions.includes('instance') ? perInstance : shared).add(id);
        }
      }
    }
  }
  return { shared: shared.size, perInstance: perInstance.size };
}

/**
 * One instance on the default schedules (refresher every minute, probe every 5 minutes, the daily
 * watch) with ServiceNow's default 30-minute tokens, for `days` simulated days. AWS calls are
 * counted by middleware on every SDK client the functions use, ServiceNow calls from the
 * simulator's request log, per invocation.
 */
export async function measureCalls(days = 1): Promise<CallCounts> {
  const fixture = await RefresherFixture.create();
  try {
    const alerting = await AlertingHarness.create(fixture);
    const events = new EventBridgeClient(localAwsConfig());
    const byCommand = new Map<string, number>();
    let awsCalls = 0;
    for (const client of [fixture.aws.secrets, fixture.aws.dynamo, fixture.aws.sns, events]) {
      // The stacks differ only in their clients' input and output types, which counting ignores.
      (client.middlewareStack as unknown as SecretsManagerClient['middlewareStack']).add(
        (next, context) => async (args) => {
          awsCalls++;
          const name = `${context.clientName?.replace('Client', '') ?? '?'}.${context.commandName?.replace('Command', '')}`;
          byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
          return next(args);
        },
        { step: 'initialize', name: 'benchCountCalls' },
      );
    }
    const logger = new Logger({ serviceName: 'servicenow-token-refresher' });
    const notifier = new AwsNotifier({
      sns: fixture.aws.sns,
      events,
      topicArn: alerting.topicArn,
      busName: alerting.busName,
    });
    const alerts = new Alerts({
      store: alerting.incidents,
      notifier,
      clock: fixture.clock,
      logger,
      owner: 'bench/refresher',
      settings: alerting.settings,
    });
    const refresher = createRefresher(
      {
        ...fixture.deps(),
        reporting: { alerts, notifier, metrics: createInstanceMetrics(), graceMs: alerting.graceMs },
      },
      fixture.instances.map((i) => i.config),
    );
    const prober = alerting.prober(refresher);
    const watch = alerting.watch();
    await fixture.bootstrap();
    const logStart = fixture.logs.text().length;
    byCommand.clear();

    const invocations: Invocation[] = [];
    const measured = (schedule: string, run: () => Promise<unknown>) => async () => {
      const aws = awsCalls;
      const sim = fixture.sim.log.length;
      const at = fixture.clock.now();
      const result = await run();
      const calls = fixture.sim.log.slice(sim);
      const refreshed =
        schedule === 'refresher'
          ? (result as { results: { outcome: string }[] }).results.filter((r) => r.outcome === 'refreshed')
              .length
          : 0;
      invocations.push({
        schedule,
        aws: awsCalls - aws,
        serviceNow: calls.length,
        tokenRequests: calls.filter((c) => c.path === '/oauth_token.do').length,
        refreshed,
        durationMs: fixture.clock.now() - at,
      });
      return result;
    };
    const warp = new TimeWarp(fixture.clock)
      .every(
        'refresher',
        MINUTE,
        measured('refresher', () => refresher({ source: 'aws.events' })),
      )
      .every(
        'probe',
        5 * MINUTE,
        measured('probe', () => prober()),
      )
      .every('expiry-watch', DAY, measured('expiry-watch', watch));
    await warp.runFor(days * DAY, (tick) => {
      if (tick.error) throw tick.error;
    });

    const of = (schedule: string) => invocations.filter((i) => i.schedule === schedule);
    const refreshing = of('refresher').filter((i) => i.refreshed > 0);
    const steady = of('refresher').filter((i) => i.refreshed === 0 && i.tokenRequests === 0);
    const refreshes = refreshing.reduce((sum, i) => sum + i.refreshed, 0);
    const stats = (values: readonly number[]) => ({
      mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0,
      max: values.length ? Math.max(...values) : 0,
    });
    const count = (pattern: RegExp) =>
      [...byCommand].filter(([name]) => pattern.test(name)).reduce((sum, [, n]) => sum + n, 0);
    const billedMs = invocations.map((i) => Math.max(MIN_BILLED_MS, Math.ceil(i.durationMs)));
    const logBytes = fixture.logs
      .text()
      .slice(logStart)
      .split('\n')
      .filter((line) => line.startsWith('{') && !line.includes('"level":"DEBUG"'))
      .reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    const perDay = (n: number) => n / days;
    const usage: DailyUsage = {
      invocations: perDay(invocations.length),
      sharedGbSeconds: perDay((invocations.length * MIN_BILLED_MS * MEMORY_GB) / 1000),
      sharedLogBytes: perDay(invocations.length * PLATFORM_LOG_BYTES),
      perInstance: {
        gbSeconds: perDay((billedMs.reduce((a, b) => a + b - MIN_BILLED_MS, 0) * MEMORY_GB) / 1000),
        secretsManagerCalls: perDay(count(/^SecretsManager\./)),
        dynamoReadUnits: perDay(count(/^DynamoDB\.(Get|BatchGet|Query|Scan)/)),
        dynamoWriteUnits: perDay(count(/^DynamoDB\.(Put|Update|Delete|BatchWrite)/)),
        snsPublishes: perDay(count(/^SNS\.Publish/)) + EMAILS_PER_INSTANCE_MONTH / 30,
        emails: EMAILS_PER_INSTANCE_MONTH / 30,
        events: perDay(count(/^EventBridge\.PutEvents/)),
        logBytes: perDay(logBytes),
      },
    };
    return {
      days,
      refreshes,
      awsPerRefresh: stats(refreshing.map((i) => i.aws / i.refreshed)),
      serviceNowPerRefresh: stats(refreshing.map((i) => i.tokenRequests / i.refreshed)),
      awsPerSteadyCheck: stats(steady.map((i) => i.aws / fixture.instances.length)),
      awsPerProbe: stats(of('probe').map((i) => i.aws / fixture.instances.length)),
      serviceNowPerProbe: stats(of('probe').map((i) => i.serviceNow)).mean,
      awsByCommand: Object.fromEntries([...byCommand].sort(([, a], [, b]) => b - a)),
      usage,
      // One instance was measured: every per-instance metric it defined is one per instance.
      metrics: customMetrics(fixture.logs.records()),
    };
  } finally {
    await fixture.close();
  }
}
