import { expect, it } from 'vitest';
import { TimeWarp } from '../../harness/time-warp';
import { VirtualClock } from '../../harness/virtual-clock';

const START = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;

/** A schedule every minute whose first run outlasts its minute (it waits 90 s in-process). */
async function starts(overlap: boolean) {
  const clock = new VirtualClock(START, { flow: false });
  clock.scheduleSleepsWhenIdle(() => true);
  const started: number[] = [];
  const ended: number[] = [];
  const warp = new TimeWarp(clock, { overlap }).every('refresher', MINUTE, async () => {
    started.push((clock.now() - START) / 1000);
    if (started.length === 1) await clock.sleep(90_000);
    ended.push((clock.now() - START) / 1000);
  });
  await warp.runFor(3 * MINUTE);
  return { started, ended, now: (clock.now() - START) / 1000 };
}

it('by default, holds the next run back until a long one ends', async () => {
  expect(await starts(false)).toEqual({ started: [60, 150, 180], ended: [150, 150, 180], now: 180 });
});

it('with overlap, starts each run at its own moment, as EventBridge does, and waits for all to end', async () => {
  expect(await starts(true)).toEqual({ started: [60, 120, 180], ended: [120, 150, 180], now: 180 });
});

it('refuses overlap on a clock where a sleep moves time at once', async () => {
  const warp = new TimeWarp(new VirtualClock(START), { overlap: true }).every('probe', MINUTE, async () => 0);
  await expect(warp.runFor(MINUTE)).rejects.toThrow(/scheduleSleepsWhenIdle/);
});

it('with overlap, starts nothing more once the tick handler throws, and rejects with its error', async () => {
  const clock = new VirtualClock(START, { flow: false });
  clock.scheduleSleepsWhenIdle(() => true);
  let runs = 0;
  const warp = new TimeWarp(clock, { overlap: true }).every('refresher', MINUTE, async () => {
    runs++;
    throw new Error('harness broke');
  });
  await expect(
    warp.runFor(10 * MINUTE, (tick) => {
      throw tick.error;
    }),
  ).rejects.toThrow('harness broke');
  expect(runs).toBe(1);
});
