import type { Alerts } from '../shared/alerts/alerts';
import type { IncidentKind, Observation } from '../shared/alerts/incident';
import { type IncidentStore, incidentKey } from '../shared/alerts/incident-store';
import type { Clock } from '../shared/clock';
import { minimumAccessTokenLifespanSeconds } from '../shared/deployment-contract';
import type { InstanceConfig } from '../shared/instance-config';
import type { InstanceMetrics } from '../shared/metrics';
import { refreshTokenExpiresAt } from '../shared/secrets/credentials-secret';
import type { InstanceState } from '../shared/state/instance-state';
import type { StateStore } from '../shared/state/state-store';
import { type ConsumerWatchDeps, watchConsumerTokens } from './consumer-watch';
import {
  checkSubscriptions,
  type SubscriptionCheckDeps,
  type SubscriptionVerdict,
} from './subscription-check';

const DAY = 86_400_000;
const WATCH_KINDS: readonly IncidentKind[] = ['refresh-token-expiry', 'certificate-expiry', 'config-drift'];

export interface ExpiryWatchDeps {
  readonly clock: Clock;
  readonly state: Pick<StateStore, 'getMany'>;
  readonly incidents: Pick<IncidentStore, 'getMany'>;
  readonly alerts: Alerts;
  readonly metrics: InstanceMetrics;
  readonly warningDays: readonly number[];
  readonly scheduleIntervalSeconds: number;
  readonly refreshAheadSeconds: number;
  /** Tokens handed off to other tools: counted down (and, when watched, proven) here too. */
  readonly consumerTokens?: ConsumerWatchDeps;
  /** The alert topic's subscriptions, checked after the countdowns. @default not checked */
  readonly subscriptions?: SubscriptionCheckDeps;
}

export interface ExpiryWatchResult {
  readonly reports: readonly WatchReport[];
  /** Set when the subscriptions were checked. */
  readonly subscriptions?: SubscriptionVerdict;
}

/** One daily run of the expiry watch. */
export type ExpiryWatch = () => Promise<ExpiryWatchResult>;

/**
 * The daily watch: the countdown to every fixed end (refresh tokens, certificates, tokens handed
 * off to other tools), the access-token lifespan against the schedule, and whether anybody reads
 * the alert emails. Built once per execution environment like the other cores; it remembers
 * nothing between runs.
 */
export function createExpiryWatch(deps: ExpiryWatchDeps, instances: readonly InstanceConfig[]): ExpiryWatch {
  return async () => {
    const reports = await watchExpiry(deps, instances);
    if (!deps.subscriptions) return { reports };
    return { reports, subscriptions: await checkSubscriptions(deps.subscriptions) };
  };
}

export interface WatchReport {
  readonly instance: string;
  /** Set on the report of a token held by another tool. */
  readonly consumer?: string;
  readonly daysLeft?: number;
  readonly notices: readonly string[];
}

/**
 * The countdown to the refresh token's fixed end: a warning at each threshold (once, however often
 * the watch runs), then daily once it has passed; a renewal closes it. Also flags an access-token
 * lifespan too short for the schedule.
 */
async function watchExpiry(
  deps: ExpiryWatchDeps,
  instances: readonly InstanceConfig[],
): Promise<WatchReport[]> {
  const names = instances.map((i) => i.name);
  const [states, incidents] = await Promise.all([
    deps.state.getMany(names),
    deps.incidents.getMany(names, WATCH_KINDS),
  ]);
  const reports: WatchReport[] = [];
  for (const instance of instances) {
    const state = states.get(instance.name);
    const now = deps.clock.now();
    const notices: string[] = [];
    const end = refreshTokenExpiresAt(state);
    const daysLeft = end === undefined ? undefined : (end - now) / DAY;
    if (daysLeft !== undefined)
      deps.metrics.emit(instance.name, { RefreshTokenDaysRemaining: Math.max(0, daysLeft) });
    const thresholds = [...(instance.expiryWarningDays ?? deps.warningDays)].sort((a, b) => b - a);
    const checks: [IncidentKind, Observation][] = [
      ['refresh-token-expiry', countdown(end, now, thresholds)],
      // JWT bearer has no refresh token; its one fixed date is the signing certificate's end.
      [
        'certificate-expiry',
        countdown(state?.grant === 'jwt_bearer' ? state.certificateExpiresAt : undefined, now, thresholds),
      ],
      ['config-drift', drift(state, deps)],
    ];
    for (const [kind, seen] of checks) {
      const known = incidents.get(incidentKey(instance.name, kind));
      if (!seen.active && (!known || known.status === 'closed')) continue;
      const notice = await deps.alerts.observe(
        instance,
        kind,
        seen,
        {
          refreshTokenExpiresAt: end,
          certificateExpiresAt: state?.certificateExpiresAt,
          accessTokenExpiresAt: state?.accessTokenExpiresAt,
          accessTokenLifespanSeconds: state?.accessTokenLifespanSeconds,
          scheduleIntervalSeconds: deps.scheduleIntervalSeconds,
        },
        known ?? null,
      );
      if (notice) notices.push(`${kind}:${notice}`);
    }
    reports.push({
      instance: instance.name,
      ...(daysLeft !== undefined && { daysLeft: Math.floor(daysLeft) }),
      notices,
    });
  }
  if (deps.consumerTokens) reports.push(...(await watchConsumerTokens(deps, deps.consumerTokens, instances)));
  return reports;
}

export function countdown(end: number | undefined, now: number, thresholds: readonly number[]): Observation {
  const first = thresholds[0];
  if (end === undefined || first === undefined) return { active: false };
  const left = (end - now) / DAY;
  // A threshold is reached on the last daily run before it passes: a warning configured at 30 days
  // goes out with 30 whole days left (not 29 and some hours), whatever hour the watch runs at.
  const reached = (t: number) => left < t + 1;
  if (!reached(first)) return { active: false };
  if (left <= 0) {
    return {
      active: true,
      reason: 'expired',
      severity: 'action-required',
      graceMs: 0,
      remind: true,
      level: 0,
    };
  }
  // The smallest threshold already reached: 10 days left reaches 14, not 7.
  const level = thresholds.filter(reached).at(-1) ?? first;
  return {
    active: true,
    reason: 'expiring',
    severity: level <= 7 ? 'action-required' : 'warning',
    graceMs: 0,
    remind: false,
    level,
  };
}

function drift(state: InstanceState | undefined, deps: ExpiryWatchDeps): Observation {
  const lifespan = state?.accessTokenLifespanSeconds;
  if (lifespan === undefined) return { active: false };
  const minimum = minimumAccessTokenLifespanSeconds(deps);
  if (lifespan >= minimum) return { active: false };
  return { active: true, reason: 'lifespan-too-short', severity: 'warning', graceMs: 0, remind: false };
}
