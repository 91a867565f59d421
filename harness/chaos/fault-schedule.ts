import type { Fault, HibernationMode } from '../servicenow-simulator';

const SECOND = 1000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A small, fast, seedable generator (mulberry32): the same seed gives the same schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type ServiceNowWindowKind =
  | 'server-error'
  | 'hibernation'
  | 'rate-limited'
  | 'reset'
  | 'timeout'
  | 'slow-body';

/** A stretch of time during which one instance keeps failing the same way. */
export interface ServiceNowWindow {
  readonly instance: string;
  readonly kind: ServiceNowWindowKind;
  readonly start: number;
  readonly end: number;
  /** For every kind but hibernation and rate-limited (which use the instance's settings). */
  readonly fault?: Fault;
  readonly hibernation?: HibernationMode;
}

/** A stretch of time during which AWS refuses a share of the requests to some services. */
export interface AwsWindow {
  readonly start: number;
  readonly end: number;
  readonly services: readonly string[];
  readonly rate: number;
}

export type ChaosEvent =
  /** One request to the instance fails this way (the next one, whoever sends it). */
  | { readonly at: number; readonly kind: 'sporadic'; readonly instance: string; readonly fault: Fault }
  /** Someone revokes the stored refresh token in ServiceNow; an operator renews `renewAfterMs` later. */
  | { readonly at: number; readonly kind: 'revoke'; readonly instance: string; readonly renewAfterMs: number }
  /** An operator runs `snow-token renew`, while the refresher runs. */
  | { readonly at: number; readonly kind: 'renew'; readonly instance: string }
  /** Lambda starts a new execution environment for the refresher (its memory is gone). */
  | { readonly at: number; readonly kind: 'cold-start' }
  /** EventBridge delivers the scheduled event twice: two environments run at once. */
  | { readonly at: number; readonly kind: 'duplicate-delivery' }
  /** The refresher's next grant for the instance answers only after `delayMs` (it may outlive the lease). */
  | { readonly at: number; readonly kind: 'slow-grant'; readonly instance: string; readonly delayMs: number }
  /**
   * A second writer whose clock is `skewMs` off AWS's runs every minute for `forMs` beside the
   * refresher (e.g. an operator's laptop running renew, a misconfigured host).
   */
  | { readonly at: number; readonly kind: 'skewed-writer'; readonly skewMs: number; readonly forMs: number };

export interface FaultSchedule {
  readonly seed: number;
  readonly start: number;
  readonly end: number;
  /** No fault after this: the system must have recovered by `end`. */
  readonly quietFrom: number;
  readonly serviceNow: readonly ServiceNowWindow[];
  readonly aws: readonly AwsWindow[];
  /** Sorted by time. */
  readonly events: readonly ChaosEvent[];
}

const HIBERNATION_MODES: readonly HibernationMode[] = [
  'html-200',
  'redirect-302',
  'html-503',
  'offline-200',
  'offline-503',
];
const AWS_SERVICES = ['dynamodb', 'secretsmanager', 'sns', 'events'];

/**
 * The faults of one run, drawn from `seed`. Rates are per simulated day and instance. Timeouts and
 * slow bodies cost real seconds, so their windows are short; the last two days are quiet, so every
 * incident has the time to close.
 */
export function faultSchedule(options: {
  readonly seed: number;
  readonly start: number;
  readonly days: number;
  readonly instances: readonly string[];
}): FaultSchedule {
  const random = seededRandom(options.seed);
  const between = (min: number, max: number) => min + random() * (max - min);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const { start } = options;
  const end = start + options.days * DAY;
  const quietFrom = end - Math.min(2 * DAY, options.days * DAY * 0.2);
  const serviceNow: ServiceNowWindow[] = [];
  const aws: AwsWindow[] = [];
  const events: ChaosEvent[] = [];
  // Poisson arrivals: exponential gaps with the given rate per day.
  const arrivals = (perDay: number, from = start + HOUR): number[] => {
    const times: number[] = [];
    for (let t = from - Math.log(1 - random()) * (DAY / perDay); t < quietFrom; ) {
      times.push(t);
      t += -Math.log(1 - random()) * (DAY / perDay);
    }
    return times;
  };

  for (const instance of options.instances) {
    const window = (
      kind: ServiceNowWindowKind,
      at: number,
      minMs: number,
      maxMs: number,
      extra: Partial<ServiceNowWindow> = {},
    ) => {
      serviceNow.push({
        instance,
        kind,
        start: at,
        end: Math.min(quietFrom, at + between(minMs, maxMs)),
        ...extra,
      });
    };
    for (const at of arrivals(0.4)) {
      window('server-error', at, 10 * MINUTE, 90 * MINUTE, {
        fault: { kind: 'status', status: pick([500, 502, 503, 504]) },
      });
    }
    for (const at of arrivals(0.15))
      window('hibernation', at, 30 * MINUTE, 3 * HOUR, { hibernation: pick(HIBERNATION_MODES) });
    for (const at of arrivals(0.15)) window('rate-limited', at, 10 * MINUTE, HOUR);
    for (const at of arrivals(0.15))
      window('reset', at, 5 * MINUTE, 40 * MINUTE, { fault: { kind: 'reset' } });
    for (const at of arrivals(0.1))
      window('timeout', at, 2 * MINUTE, 10 * MINUTE, { fault: { kind: 'hang' } });
    for (const at of arrivals(0.1)) {
      window('slow-body', at, 2 * MINUTE, 10 * MINUTE, { fault: { kind: 'slow-body', chunkDelayMs: 400 } });
    }
    const sporadic: Fault[] = [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 429 },
      { kind: 'reset' },
      { kind: 'latency', ms: 400 },
      { kind: 'latency', ms: 30 },
      { kind: 'slow-body', chunkDelayMs: 400 },
      { kind: 'slow-body', chunkDelayMs: 5 },
      { kind: 'truncated-body' },
      { kind: 'non-json' },
      { kind: 'huge-body', bytes: 200_000 },
    ];
    for (const at of arrivals(4)) events.push({ at, kind: 'sporadic', instance, fault: pick(sporadic) });
    for (const at of arrivals(1 / 15, start + DAY)) {
      events.push({ at, kind: 'revoke', instance, renewAfterMs: between(2 * HOUR, 24 * HOUR) });
    }
    for (const at of arrivals(1 / 30, start + DAY)) events.push({ at, kind: 'renew', instance });
  }
  for (const at of arrivals(0.3)) {
    const services = AWS_SERVICES.filter(() => random() < 0.6);
    aws.push({
      start: at,
      end: Math.min(quietFrom, at + between(10 * MINUTE, 2 * HOUR)),
      services: services.length ? services : [pick(AWS_SERVICES)],
      rate: between(0.3, 0.9),
    });
  }
  for (const at of arrivals(3)) events.push({ at, kind: 'cold-start' });
  for (const at of arrivals(2)) events.push({ at, kind: 'duplicate-delivery' });
  // Drawn after the faults above, so adding them left every earlier seed's schedule as it was.
  for (const instance of options.instances) {
    for (const at of arrivals(2)) {
      events.push({ at, kind: 'slow-grant', instance, delayMs: between(20 * SECOND, 100 * SECOND) });
    }
  }
  for (const at of arrivals(1)) {
    const skewMs = pick([91, -91, 30, -30, 8, 3, -2]) * SECOND;
    events.push({ at, kind: 'skewed-writer', skewMs, forMs: between(10 * MINUTE, 2 * HOUR) });
  }
  events.sort((a, b) => a.at - b.at);
  return { seed: options.seed, start, end, quietFrom, serviceNow, aws, events };
}
