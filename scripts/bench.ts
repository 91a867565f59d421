/**
 * `npm run bench`: the figures the README quotes, against the goals of issue 8. Prints a markdown
 * table (with the date and machine) and writes everything measured to .bench/results.json.
 * A few minutes on two cores; it starts its own local AWS emulator and ServiceNow simulators.
 *
 *   npm run bench
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, release, type } from 'node:os';
import { join } from 'node:path';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { startLocalAws } = await import('./demo/local-aws');
const { AWS_PRICES } = await import('./bench/aws-prices');
const { measureBundles } = await import('./bench/bundles');
const { measureCalls } = await import('./bench/call-counts');
const { estimateMonthlyCost } = await import('./bench/cost-model');
const { fixedResources } = await import('./bench/fixed-resources');
const report = await import('./bench/report');
const { measureScale } = await import('./bench/scale');
const { measureClientBundle } = await import('./client-bundle-size');
const { measurePackage } = await import('./bench/package-install');
const { measureExpiryWindows } = await import('../harness/expiry-window');
const { RefresherFixture } = await import('../harness/refresher-fixture');

type BenchRow = import('./bench/report').BenchRow;

const ROOT = join(import.meta.dirname, '..');
// Taken before any fixture captures stdout and stderr.
const progress = process.stderr.write.bind(process.stderr);
const print = process.stdout.write.bind(process.stdout);
const step = (text: string) => progress(`bench: ${text}\n`);

const GOALS = {
  loadRatio: 1.5,
  awsPerRefresh: 5,
  serviceNowPerRefresh: 1,
  awsPerSteadyCheck: 1,
  expiredWindowMs: 5_000,
  scaleMs: 60_000,
  /** At 50 instances, with the defaults. */
  perInstanceMonth: 1,
  /** One instance alone, with the defaults. */
  singleInstanceMonth: 2.5,
};

const wallStart = Date.now();
const rows: BenchRow[] = [];
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

step('bundling the three functions as the construct does, and timing cold module loads');
const bundles = await measureBundles();
for (const b of bundles) {
  rows.push({
    measure: `${b.fn}: bundle (minified ESM, SDK bundled)`,
    value: `${kb(b.bytes)}; its SDK clients alone ${kb(b.sdkOnlyBytes)}`,
    goal: '-',
  });
  rows.push({
    measure: `${b.fn}: cold module load vs its SDK clients alone`,
    value: `${b.ratio.toFixed(2)}x (${b.loadMs.toFixed(0)} ms vs ${b.sdkOnlyLoadMs.toFixed(0)} ms, median of ${b.samples})`,
    goal: `<= ${GOALS.loadRatio}x`,
    met: b.ratio <= GOALS.loadRatio,
    ...(b.ratio > GOALS.loadRatio && {
      note: `${(b.ratio / GOALS.loadRatio).toFixed(2)}x the goal, ${(b.loadMs - GOALS.loadRatio * b.sdkOnlyLoadMs).toFixed(0)} ms too slow`,
    }),
  });
}

const client = await measureClientBundle();
for (const c of client) {
  rows.push({
    measure: `token client bundle (${c.bundle})`,
    value: `${kb(c.bytes)} (${kb(c.gzipBytes)} gzip)`,
    goal: '-',
  });
}

step('packing the package, installing it alone as a sync job would, timing the installed CLI');
const installed = await measurePackage();
rows.push({
  measure: 'token client installed alone (npm install of the packed tarball)',
  value: `${(installed.clientOnlyBytes / 1024 / 1024).toFixed(1)} MiB in ${installed.clientOnlyPackages} packages; aws-cdk-lib ${installed.clientOnlyHasCdk ? 'PRESENT' : 'absent'}`,
  goal: 'no aws-cdk-lib',
  met: !installed.clientOnlyHasCdk,
});
rows.push({
  measure: 'snow-token --version start, installed package',
  value: `${installed.cliStartMs.toFixed(0)} ms vs ${installed.nodeStartMs.toFixed(0)} ms for node alone (median of ${installed.samples})`,
  goal: '-',
});

step('starting the local AWS emulator');
const moto = await startLocalAws();
let results: Record<string, unknown>;
try {
  step('one simulated day of one instance on the default schedules, counting calls');
  const calls = await measureCalls(1);
  const awsRefreshMet = calls.awsPerRefresh.max <= GOALS.awsPerRefresh;
  const snRefreshMet = calls.serviceNowPerRefresh.max <= GOALS.serviceNowPerRefresh;
  rows.push({
    measure: 'calls per refresh (AWS + ServiceNow)',
    value: `AWS ${calls.awsPerRefresh.max.toFixed(0)} at most (mean ${calls.awsPerRefresh.mean.toFixed(1)}); ServiceNow ${calls.serviceNowPerRefresh.max.toFixed(0)} at most (mean ${calls.serviceNowPerRefresh.mean.toFixed(2)}), over ${calls.refreshes} refreshes`,
    goal: `<= ${GOALS.awsPerRefresh} AWS + ${GOALS.serviceNowPerRefresh} ServiceNow`,
    met: awsRefreshMet && snRefreshMet,
    ...(!(awsRefreshMet && snRefreshMet) && {
      note: `${Math.max(0, calls.awsPerRefresh.max - GOALS.awsPerRefresh)} AWS and ${Math.max(0, calls.serviceNowPerRefresh.max - GOALS.serviceNowPerRefresh)} ServiceNow calls over`,
    }),
  });
  rows.push({
    measure: 'AWS calls per steady-state check, per instance (refresher, nothing due)',
    value: `${calls.awsPerSteadyCheck.max} at most (mean ${calls.awsPerSteadyCheck.mean.toFixed(3)})`,
    goal: `<= ${GOALS.awsPerSteadyCheck}`,
    met: calls.awsPerSteadyCheck.max <= GOALS.awsPerSteadyCheck,
  });
  rows.push({
    measure: 'probe, per instance and run',
    value: `AWS ${calls.awsPerProbe.mean.toFixed(3)} (at most ${calls.awsPerProbe.max}); ServiceNow ${calls.serviceNowPerProbe.toFixed(2)}`,
    goal: '-',
  });

  const windows = [];
  for (const mode of ['current-remaining', 'current-full', 'new-token'] as const) {
    step(`30 simulated days in refresh mode ${mode}`);
    const fixture = await RefresherFixture.create();
    try {
      windows.push(await measureExpiryWindows(fixture, mode, 30));
    } finally {
      await fixture.close();
    }
  }
  for (const w of windows) {
    rows.push({
      measure: `stored token expired, ${w.mode} (30 days, ${w.tokens} tokens)`,
      value: `worst ${(w.worstMs / 1000).toFixed(2)} s, median ${(w.medianMs / 1000).toFixed(2)} s`,
      goal: `<= ${GOALS.expiredWindowMs / 1000} s`,
      met: w.worstMs <= GOALS.expiredWindowMs && w.overstated === 0,
      ...(w.worstMs > GOALS.expiredWindowMs && {
        note: `${((w.worstMs - GOALS.expiredWindowMs) / 1000).toFixed(1)} s over`,
      }),
    });
  }

  step('200 instances, ServiceNow answering in 200 ms');
  const scale = await measureScale(200, 200, GOALS.scaleMs);
  rows.push({
    measure: `refresh ${scale.instances} instances, ServiceNow ${scale.latencyMs} ms (concurrency ${scale.concurrency}, default)`,
    value: `${(scale.elapsedMs / 1000).toFixed(1)} s, ${scale.refreshed} refreshed; concurrency ${scale.concurrencyForGoal} would do`,
    goal: `< ${GOALS.scaleMs / 1000} s`,
    met: scale.elapsedMs < GOALS.scaleMs && scale.refreshed === scale.instances,
    ...(scale.elapsedMs >= GOALS.scaleMs && {
      note: `${((scale.elapsedMs - GOALS.scaleMs) / 1000).toFixed(0)} s over; needs concurrency ${scale.concurrencyForGoal}`,
    }),
  });

  // The defaults, as synthesized (secrets, alarms, keys, dashboards) and as the measured day
  // published them (custom metrics).
  const fixed = fixedResources(calls.metrics);
  const costGoal = (n: number) =>
    n === 1 ? GOALS.singleInstanceMonth : n === 50 ? GOALS.perInstanceMonth : undefined;
  const costs = [1, 10, 50, 200].map((n) => estimateMonthlyCost(calls.usage, fixed, AWS_PRICES, n));
  for (const cost of costs) {
    const top = cost.lines
      .slice(0, 3)
      .map((l) => `${l.item} ${report.usd(l.perInstance)}`)
      .join(', ');
    const goal = costGoal(cost.instances);
    const met = goal === undefined ? undefined : cost.perInstanceMonth <= goal;
    rows.push({
      measure: `cost per instance-month, ${cost.instances} instance${cost.instances > 1 ? 's' : ''}, defaults (shared costs split)`,
      value: `${report.usd(cost.perInstanceMonth)}; largest: ${top}; floor of 2 secrets ${report.usd(fixed.secretsPerInstance * AWS_PRICES.secretsManager.perSecretMonth)}`,
      goal: goal === undefined ? '-' : `<= ${report.usd(goal)}`,
      ...(met !== undefined && { met }),
      ...(goal !== undefined &&
        !met && {
          note: `${report.usd(cost.perInstanceMonth - goal)} over, ${(cost.perInstanceMonth / goal).toFixed(1)}x`,
        }),
    });
  }
  rows.push({
    measure: "billed by the month with the defaults (from the synthesized templates and the day's EMF lines)",
    value: `per instance: ${fixed.secretsPerInstance} secrets, ${fixed.metricsPerInstance} metrics, ${fixed.alarmsPerInstance} alarms; shared: ${fixed.sharedMetrics} metric, ${fixed.sharedAlarms} alarms, ${fixed.sharedKmsKeys} KMS keys, ${fixed.sharedDashboards} dashboards`,
    goal: '-',
  });
  results = { bundles, client, installed, calls, windows, scale, fixed, costs };
} finally {
  await moto.stop();
}

const date = new Date().toISOString().slice(0, 10);
const machine = {
  os: `${type()} ${release()} ${arch()}`,
  cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
  cores: cpus().length,
  node: process.version,
};
const table = report.formatBenchTable(rows, date, machine);
print(`\n${table}\n`);
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(
  join(ROOT, '.bench', 'results.json'),
  `${JSON.stringify({ date, machine, wallMs: Date.now() - wallStart, goals: GOALS, prices: AWS_PRICES, rows, ...results }, null, 2)}\n`,
);
step(
  `done in ${((Date.now() - wallStart) / 1000).toFixed(0)} s; everything measured is in .bench/results.json`,
);
