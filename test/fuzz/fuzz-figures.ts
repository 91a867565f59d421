/**
 * How many generated cases each boundary got, printed once per file so docs/reliability.md can
 * quote a real run. Seeds are fixed so CI is reproducible; FUZZ_SEED explores others.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_260_105);

export function reportCases(boundary: string, cases: number): void {
  console.log(`fuzz: ${boundary}: ${cases} cases (seed ${FUZZ_SEED})`);
}

/** Every outcome a ServiceNow call can end in (lambda/shared/servicenow/outcome.ts). */
export const OUTCOME_KINDS = [
  'ok',
  'rejected',
  'unauthorized',
  'forbidden',
  'rate-limited',
  'unavailable',
  'timeout',
  'network-error',
  'malformed',
];
