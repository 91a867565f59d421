import { expect, it } from 'vitest';
import { VirtualClock } from '../../harness/virtual-clock';

const START = Date.UTC(2026, 0, 5, 9, 0, 0);

it('adds concurrent sleeps up by default (each sleep moves time when called)', async () => {
  const clock = new VirtualClock(START, { flow: false });
  await Promise.all([clock.sleep(10_000), clock.sleep(30_000)]);
  expect(clock.now()).toBe(START + 40_000);
});

it('with idle scheduling, wakes concurrent sleepers earliest first and moves time only to the latest', async () => {
  const clock = new VirtualClock(START, { flow: false });
  let busy = true;
  clock.scheduleSleepsWhenIdle(() => !busy);
  const woke: [string, number][] = [];
  const sleeps = [
    clock.sleep(30_000).then(() => woke.push(['long', clock.now()])),
    clock.sleep(10_000).then(() => woke.push(['short', clock.now()])),
  ];
  // While a request is in flight, no sleeper's moment comes.
  await new Promise((r) => setTimeout(r, 20));
  expect(woke).toEqual([]);
  expect(clock.now()).toBe(START);
  busy = false;
  await Promise.all(sleeps);
  expect(woke).toEqual([
    ['short', START + 10_000],
    ['long', START + 30_000],
  ]);
});

it('with idle scheduling, an aborted sleep leaves without moving time', async () => {
  const clock = new VirtualClock(START, { flow: false });
  clock.scheduleSleepsWhenIdle(() => false);
  const abort = new AbortController();
  const sleep = clock.sleep(10_000, abort.signal);
  abort.abort(new Error('cancelled'));
  await expect(sleep).rejects.toThrow('cancelled');
  expect(clock.now()).toBe(START);
});
