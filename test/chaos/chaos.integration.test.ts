import { writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { type ChaosReport, runChaos } from '../../harness/chaos/chaos-run';

/**
 * Chaos over the time-warp harness: a seeded fault schedule on ServiceNow and AWS, renewals racing
 * the refresher, every invariant checked as it goes. CI runs a few short seeds; `npm run chaos --
 * --days 120 --seeds N` runs the full length through this same file (CHAOS_* variables).
 */
const days = Number(process.env.CHAOS_DAYS ?? 1);
const firstSeed = Number(process.env.CHAOS_FIRST_SEED ?? 1);
const seeds = process.env.CHAOS_SEED
  ? [Number(process.env.CHAOS_SEED)]
  : Array.from({ length: Number(process.env.CHAOS_SEEDS ?? 3) }, (_, i) => firstSeed + i);
const reports: ChaosReport[] = [];

it.each(seeds)(
  `keeps every invariant through ${days} simulated days of faults (seed %i)`,
  async (seed) => {
    const report = await runChaos({ seed, days });
    reports.push(report);
    if (process.env.CHAOS_REPORT) writeFileSync(process.env.CHAOS_REPORT, JSON.stringify(reports, null, 2));
    const replay = `replay with: npm run chaos -- --days ${days} --seed ${seed}`;
    const checks = Object.values(report.checks).reduce((a, b) => a + b, 0);
    console.log(
      `chaos seed ${seed}: ${days} days in ${report.wallSeconds} s, ${checks} checks, ${report.violations.length} violations (${replay})`,
    );
    expect(report.violations, replay).toEqual([]);
  },
  3_600_000,
);
