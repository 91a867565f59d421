/** What the probe concluded about an instance (lambda/probe), recorded as `lastProbeVerdict` in the state table. */
export const PROBE_VERDICTS = [
  'ok',
  'ok-after-refresh',
  'no-token',
  'token-expired',
  'forbidden',
  'unauthorized',
  'rate-limited',
  'unavailable',
] as const;
export type ProbeVerdict = (typeof PROBE_VERDICTS)[number];
