import { describe, expect, it } from 'vitest';
import { AWS_PRICES } from '../../scripts/bench/aws-prices';
import { type DailyUsage, estimateMonthlyCost, type FixedResources } from '../../scripts/bench/cost-model';
import { formatBenchTable, usd } from '../../scripts/bench/report';

const IDLE: DailyUsage = {
  invocations: 0,
  sharedGbSeconds: 0,
  sharedLogBytes: 0,
  perInstance: {
    gbSeconds: 0,
    secretsManagerCalls: 0,
    dynamoReadUnits: 0,
    dynamoWriteUnits: 0,
    snsPublishes: 0,
    emails: 0,
    events: 0,
    logBytes: 0,
  },
};
const SECRETS_ONLY: FixedResources = {
  secretsPerInstance: 2,
  metricsPerInstance: 0,
  sharedMetrics: 0,
  alarmsPerInstance: 0,
  sharedAlarms: 0,
  sharedKmsKeys: 0,
  sharedDashboards: 0,
};

describe('the cost estimate', () => {
  it('costs the floor of two secrets per instance when nothing else is used', () => {
    const cost = estimateMonthlyCost(IDLE, SECRETS_ONLY, AWS_PRICES, 1);

    expect(cost.perInstanceMonth).toBeCloseTo(0.8, 10);
    expect(cost.lines[0]).toEqual({ item: 'Secrets Manager: secrets', total: 0.8, perInstance: 0.8 });
  });

  it('prices a month of calls: 10 000 secret calls a day for 30 days cost $1.50', () => {
    const usage = { ...IDLE, perInstance: { ...IDLE.perInstance, secretsManagerCalls: 10_000 } };

    const cost = estimateMonthlyCost(usage, { ...SECRETS_ONLY, secretsPerInstance: 0 }, AWS_PRICES, 1);

    expect(cost.lines.find((l) => l.item === 'Secrets Manager: API calls')?.total).toBeCloseTo(1.5, 10);
  });

  it('splits shared costs over the instances and keeps per-instance costs per instance', () => {
    const fixed = { ...SECRETS_ONLY, sharedDashboards: 1 };

    const one = estimateMonthlyCost(IDLE, fixed, AWS_PRICES, 1);
    const fifty = estimateMonthlyCost(IDLE, fixed, AWS_PRICES, 50);

    expect(one.perInstanceMonth).toBeCloseTo(0.8 + 3, 10);
    expect(fifty.perInstanceMonth).toBeCloseTo(0.8 + 3 / 50, 10);
    expect(fifty.totalPerMonth).toBeCloseTo(50 * 0.8 + 3, 10);
  });

  it('lists the largest line items first', () => {
    const fixed = { ...SECRETS_ONLY, metricsPerInstance: 7 };

    const cost = estimateMonthlyCost(IDLE, fixed, AWS_PRICES, 1);

    expect(cost.lines.map((l) => l.item).slice(0, 2)).toEqual([
      'CloudWatch: custom metrics',
      'Secrets Manager: secrets',
    ]);
  });
});

describe('the benchmark table', () => {
  const machine = { os: 'Linux 6.1 x64', cpu: 'Test CPU', cores: 2, node: 'v24.0.0' };

  it('states the date and machine, and a verdict per row with a goal', () => {
    const table = formatBenchTable(
      [
        { measure: 'a', value: '1 s', goal: '< 2 s', met: true },
        { measure: 'b', value: '3 s', goal: '< 2 s', met: false, note: '1 s over' },
        { measure: 'c', value: '4 KiB', goal: '-' },
      ],
      '2026-05-06',
      machine,
    );

    expect(table).toBe(
      [
        'Measured 2026-05-06 on Linux 6.1 x64, Test CPU (2 cores), Node.js v24.0.0.',
        '',
        '| measure | result | goal | verdict |',
        '| --- | --- | --- | --- |',
        '| a | 1 s | < 2 s | met |',
        '| b | 3 s (1 s over) | < 2 s | **missed** |',
        '| c | 4 KiB | - |  |',
        '',
      ].join('\n'),
    );
  });

  it('escapes pipes so a value cannot break the table', () => {
    const table = formatBenchTable([{ measure: 'x|y', value: 'v', goal: '-' }], '2026-05-06', machine);

    expect(table).toContain('| x\\|y | v | - |  |');
  });

  it('shows money in dollars, with two significant digits below a cent', () => {
    expect([usd(3.194), usd(0.0022), usd(0)]).toEqual(['$3.19', '$0.0022', '$0.00']);
  });
});
