/**
 * The long chaos run, on demand: `npm run chaos -- --days 120 --seeds 3` (or `--seed 7` to replay
 * one). Runs test/chaos/chaos.integration.test.ts under Vitest (which starts the local AWS emulator) with the
 * CHAOS_* variables, then prints the figures docs/reliability.md reports.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChaosReport } from '../harness/chaos/chaos-run';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '120' },
    seeds: { type: 'string', default: '1' },
    seed: { type: 'string' },
    'first-seed': { type: 'string', default: '1' },
  },
});
const reportPath = join(tmpdir(), `chaos-report-${process.pid}.json`);
const run = spawnSync('npx', ['vitest', 'run', 'test/chaos/chaos.integration.test.ts'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    CHAOS_DAYS: values.days,
    CHAOS_SEEDS: values.seeds,
    CHAOS_FIRST_SEED: values['first-seed'],
    ...(values.seed && { CHAOS_SEED: values.seed }),
    CHAOS_REPORT: reportPath,
  },
});

let reports: ChaosReport[] = [];
try {
  reports = JSON.parse(readFileSync(reportPath, 'utf8')) as ChaosReport[];
} catch {
  console.error('chaos: no report was written; see the Vitest output above');
  process.exit(run.status ?? 1);
}
/** The reports' figures that count things by kind. */
type Counts = {
  [K in keyof ChaosReport]: ChaosReport[K] extends Readonly<Record<string, number>> ? K : never;
}[keyof ChaosReport];
const sum = (counts: Counts) => {
  const total: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r[counts])) total[k] = (total[k] ?? 0) + v;
  return total;
};
const table = (title: string, figures: Record<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of Object.entries(figures).sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`  ${k.padEnd(58)} ${String(v).padStart(9)}`);
  }
};
console.log(
  `\nchaos: ${reports.length} seed(s) [${reports.map((r) => r.seed).join(', ')}] x ${values.days} days = ${reports.reduce((a, r) => a + r.days, 0)} simulated days in ${reports.reduce((a, r) => a + r.wallSeconds, 0)} s`,
);
const TABLES: readonly (readonly [title: string, counts: Counts])[] = [
  ['ServiceNow outage windows, by kind', 'serviceNowWindows'],
  ['ServiceNow requests answered with a fault, by kind', 'serviceNowFaults'],
  ['AWS requests faulted by the proxy, by kind (and forwarded)', 'awsFaults'],
  ['chaos events', 'events'],
  ['invocations and outcomes', 'invocations'],
  ['emails, by kind and notice', 'emails'],
  ['invariant checks', 'checks'],
];
for (const [title, counts] of TABLES) table(title, sum(counts));
const violations = reports.flatMap((r) => r.violations.map((v) => ({ seed: r.seed, ...v })));
console.log(`\nviolations: ${violations.length}`);
for (const v of violations) {
  console.log(`  seed ${v.seed} day ${v.day} ${v.invariant} ${v.instance ?? ''}: ${v.detail}`);
  for (const line of v.context ?? []) console.log(`      ${line}`);
}
process.exit(run.status ?? 1);
