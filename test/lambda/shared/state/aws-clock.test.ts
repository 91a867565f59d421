import { describe, expect, it } from 'vitest';
import { AwsClock, ClockSkewError } from '../../../../lambda/shared/state/aws-clock';

const AWS_NOW = Date.UTC(2026, 0, 5, 9, 0, 0, 700);
/** The Date header AWS sends at AWS_NOW: whole seconds, rounded down. */
const header = new Date(Math.floor(AWS_NOW / 1000) * 1000).toUTCString();

function clockAhead(ms: number): AwsClock {
  const clock = new AwsClock({ now: () => AWS_NOW + ms, sleep: async () => {} });
  clock.observe(header);
  return clock;
}

describe('AwsClock', () => {
  it('maps a timestamp of a writer running ahead to no later than AWS time', () => {
    for (const ahead of [0, 400, 2_000, 4_900]) {
      const clock = clockAhead(ahead);
      const local = AWS_NOW + ahead;
      expect(clock.earliestAwsTime(local)).toBeLessThanOrEqual(AWS_NOW);
      // ...and no more than the header's one-second resolution earlier than it.
      expect(clock.earliestAwsTime(local)).toBeGreaterThanOrEqual(AWS_NOW - 1_000);
    }
  });

  it('keeps the time of a writer running behind, which is earlier than AWS time already', () => {
    const clock = clockAhead(-3_000);
    expect(clock.earliestAwsTime(AWS_NOW - 3_000)).toBe(AWS_NOW - 3_000);
  });

  it('keeps local time before any AWS answer was seen', () => {
    const clock = new AwsClock({ now: () => AWS_NOW, sleep: async () => {} });
    expect(clock.earliestAwsTime(AWS_NOW)).toBe(AWS_NOW);
  });

  it('refuses a writer past the bound, in either direction', () => {
    expect(() => clockAhead(6_000).check('acme')).toThrow(ClockSkewError);
    expect(() => clockAhead(-6_000).check('acme')).toThrow(/behind AWS/);
    expect(() => clockAhead(4_000).check('acme')).not.toThrow();
  });
});
