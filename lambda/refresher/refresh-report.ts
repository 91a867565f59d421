import type { AlertFacts, Alerts } from '../shared/alerts/alerts';
import type { IncidentKind, Observation } from '../shared/alerts/incident';
import type { IntegrationEvent, Notifier } from '../shared/alerts/notifier';
import type { Clock } from '../shared/clock';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import type { InstanceMetrics } from '../shared/metrics';
import type { InstanceResult, RefreshOutcome } from './refresh-instance';

export interface RefreshReporting {
  readonly alerts: Alerts;
  readonly notifier: Pick<Notifier, 'publish'>;
  readonly metrics: InstanceMetrics;
  /** Transient failures alert only after this long. Default 15 min. */
  readonly graceMs: number;
}

const HEALTHY: readonly RefreshOutcome[] = ['refreshed', 'current-token-returned'];
/** Failures no retry will fix: a person must act, so they alert at once. */
const NEEDS_A_PERSON: readonly RefreshOutcome[] = [
  'refresh-token-expired',
  'refresh-token-rejected',
  'grant-rejected',
  'invalid-credentials-secret',
  'refresh-token-not-stored',
  'not-bootstrapped',
  'unauthorized',
  'forbidden',
];
/** A run that stopped for want of lease time wrote nothing and is retried by the next run. */
const SKIPPED: readonly RefreshOutcome[] = ['not-due', 'busy', 'lease-lapsing', 'lease-lost', 'clock-skew'];
/** A stored token this close to its end makes a failure urgent, once it has lasted past one retry. */
const LAPSE_MS = 2 * 60_000;
const URGENT_GRACE_MS = 60_000;

/** Metrics, integration events and refresh incidents for one refresher run. */
export async function reportRefreshResults(
  results: readonly InstanceResult[],
  instances: readonly InstanceConfig[],
  deps: {
    readonly clock: Clock;
    readonly reporting: RefreshReporting;
    readonly logger?: Pick<Logger, 'warn'>;
  },
): Promise<void> {
  const { clock, reporting } = deps;
  const now = clock.now();
  const events: IntegrationEvent[] = [];
  for (const result of results) {
    if (SKIPPED.includes(result.outcome)) continue;
    const instance = instances.find((i) => i.name === result.instance);
    if (!instance) continue;
    const state = result.state;
    const refreshTokenExpiresAt =
      state?.refreshTokenIssuedAt !== undefined && state.refreshTokenLifespanSeconds !== undefined
        ? state.refreshTokenIssuedAt + state.refreshTokenLifespanSeconds * 1000
        : undefined;
    const healthy = HEALTHY.includes(result.outcome);
    reporting.metrics.emit(instance.name, {
      RefreshSuccess: result.outcome === 'refreshed' ? 1 : 0,
      RefreshFailure: healthy ? 0 : 1,
      AccessTokenSecondsRemaining:
        state?.accessTokenExpiresAt === undefined
          ? undefined
          : Math.max(0, Math.round((state.accessTokenExpiresAt - now) / 1000)),
      RefreshTokenDaysRemaining:
        refreshTokenExpiresAt === undefined
          ? undefined
          : Math.max(0, (refreshTokenExpiresAt - now) / 86_400_000),
    });
    if (result.outcome === 'refreshed' && state?.accessTokenExpiresAt !== undefined) {
      events.push({
        detailType: 'Token Refreshed',
        detail: { instance: instance.name, expiresAt: new Date(state.accessTokenExpiresAt).toISOString() },
      });
    }

    const facts: AlertFacts = {
      detail: result.detail,
      accessTokenExpiresAt: state?.accessTokenExpiresAt,
      refreshTokenExpiresAt,
    };
    for (const [kind, seen] of observations(result, state?.accessTokenExpiresAt, now, reporting.graceMs)) {
      await reporting.alerts.observe(instance, kind, seen, facts);
    }
  }
  if (events.length) {
    await reporting.notifier.publish(events).catch((error: unknown) => {
      // An integration event is a notice, not the product: the token is stored already.
      deps.logger?.warn('could not publish the integration events; they are dropped', {
        error: (error as Error).name,
      });
    });
  }
}

/**
 * Which incidents a refresh outcome speaks to. Unavailability and rate limits are the instance's,
 * whoever sees them (the probe reports the same kinds), so an outage is one incident, not two. The
 * refresh token's expiry belongs to the countdown the expiry watch keeps.
 */
function observations(
  result: InstanceResult,
  accessTokenExpiresAt: number | undefined,
  now: number,
  graceMs: number,
): [IncidentKind, Observation][] {
  if (HEALTHY.includes(result.outcome)) {
    const before = result.previousOutcome as RefreshOutcome | undefined;
    // After a renewal there is nothing of ours to close (the CLI closes what it fixed); an expired
    // refresh token that works again is left to the expiry watch, which reads the recorded end.
    if (before === undefined || HEALTHY.includes(before) || !isRefreshOutcome(before)) return [];
    if (before === 'refresh-token-expired') return [];
    return [[kindOf(before), { active: false }]];
  }
  if (result.outcome === 'refresh-token-expired') {
    return [
      [
        'refresh-token-expiry',
        { active: true, reason: 'expired', severity: 'action-required', graceMs: 0, remind: true, level: 0 },
      ],
    ];
  }
  if (NEEDS_A_PERSON.includes(result.outcome)) {
    return [
      [
        'refresh',
        { active: true, reason: result.outcome, severity: 'action-required', graceMs: 0, remind: true },
      ],
    ];
  }
  const lapsing = accessTokenExpiresAt === undefined || accessTokenExpiresAt - now <= LAPSE_MS;
  const reason = result.outcome === 'unavailable' ? unavailableReason(result.detail) : result.outcome;
  return [
    [
      kindOf(result.outcome),
      {
        active: true,
        reason,
        severity: lapsing ? 'action-required' : 'warning',
        graceMs: lapsing ? URGENT_GRACE_MS : graceMs,
        remind: true,
      },
    ],
  ];
}

function kindOf(outcome: RefreshOutcome): IncidentKind {
  if (outcome === 'unavailable' || outcome === 'timeout' || outcome === 'network-error') return 'unavailable';
  if (outcome === 'rate-limited') return 'rate-limited';
  if (outcome === 'refresh-token-expired') return 'refresh-token-expiry';
  return 'refresh';
}

/** The outcome detail starts with the reason ("instance unavailable: hibernating (...)"). */
function unavailableReason(detail: string | undefined): string {
  return /^instance unavailable: (\w[\w-]*)/.exec(detail ?? '')?.[1] ?? 'unavailable';
}

function isRefreshOutcome(value: string): value is RefreshOutcome {
  return [
    ...HEALTHY,
    ...NEEDS_A_PERSON,
    'malformed',
    'unavailable',
    'timeout',
    'network-error',
    'rate-limited',
  ].includes(value as RefreshOutcome);
}
