/** One row of the benchmark table: what was measured, against which goal. */
export interface BenchRow {
  readonly measure: string;
  readonly value: string;
  readonly goal: string;
  /** undefined: reported without a goal. */
  readonly met?: boolean;
  /** How far from the goal, when missed, e.g. "2.4x the goal" or "$2.09 over". */
  readonly note?: string;
}

export interface Machine {
  readonly os: string;
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
}

/** The markdown table `npm run bench` prints and the README carries. */
export function formatBenchTable(rows: readonly BenchRow[], date: string, machine: Machine): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const verdict = (row: BenchRow) => (row.met === undefined ? '' : row.met ? 'met' : '**missed**');
  const lines = [
    `Measured ${date} on ${machine.os}, ${machine.cpu} (${machine.cores} cores), Node.js ${machine.node}.`,
    '',
    '| measure | result | goal | verdict |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${cell(row.measure)} | ${cell(row.value)}${row.note ? ` (${cell(row.note)})` : ''} | ${cell(row.goal)} | ${verdict(row)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** `$3.02` for money, `$0.0043` below a cent. */
export function usd(value: number): string {
  return value >= 0.01 || value === 0 ? `$${value.toFixed(2)}` : `$${value.toPrecision(2)}`;
}
