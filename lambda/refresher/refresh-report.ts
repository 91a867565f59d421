import type { AlertFacts, Alerts } from '../shared/alerts/alerts';
import type { IncidentKind, Observation } from '../shared/alerts/incident';
import type { IntegrationEvent, Notifier } from '../shared/alerts/notifier';
import type { Clock } from '../shared/clock';
import { isOneOf } from '../shared/closed-set';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import type { InstanceMetrics } from '../shared/metrics';
import {
  HEALTHY_REFRESH_OUTCOMES,
  REFRESH_FAILURES,
  REFRESH_FAILURES_NEEDING_A_PERSON,
  RETRIED_REFRESH_FAILURES,
  type RefreshFailure,
  SKIPPED_REFRESH_OUTCOMES,
} from '../shared/refresh-outcome';
import { refreshTokenExpiresAt } from '../shared/secrets/credentials-secret';
import type { FailedOutcome } from '../shared/servicenow/outcome';
import type { InstanceResult } from './refresh-instance';

export interface RefreshReporting {
  readonly alerts: Alerts;
  readonly notifier: Pick<Notifier, 'publish'>;
  readonly metrics: InstanceMetrics;
  /** Transient failures alert only after this long. Default 15 min. */
  readonly graceMs: number;
}

/** Answers from ServiceNow that refuse: it is up (which says nothing of its REST API's rate limits). */
const REFUSALS: ReadonlySet<FailedOutcome['kind']> = new Set(['rejected', 'unauthorized', 'forbidden']);

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
    if (isOneOf(SKIPPED_REFRESH_OUTCOMES, result.outcome)) continue;
    const instance = instances.find((i) => i.name === result.instance);
    if (!instance) continue;
    const state = result.state;
    const refreshTokenEnd = refreshTokenExpiresAt(state);
    const healthy = isOneOf(HEALTHY_REFRESH_OUTCOMES, result.outcome);
    reporting.metrics.emit(instance.name, {
      RefreshSuccess: result.outcome === 'refreshed' ? 1 : 0,
      RefreshFailure: healthy ? 0 : 1,
      AccessTokenSecondsRemaining:
        state?.accessTokenExpiresAt === undefined
          ? undefined
          : Math.max(0, Math.round((state.accessTokenExpiresAt - now) / 1000)),
      RefreshTokenDaysRemaining:
        refreshTokenEnd === undefined ? undefined : Math.max(0, (refreshTokenEnd - now) / 86_400_000),
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
      refreshTokenExpiresAt: refreshTokenEnd,
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
  const outcome = result.outcome;
  if (isOneOf(HEALTHY_REFRESH_OUTCOMES, outcome)) {
    const before = result.previousOutcome;
    // Only a failure this report alerted on has an incident to close. After a renewal there is
    // nothing of ours to close (the CLI closes what it fixed); an expired refresh token that works
    // again is left to the expiry watch, which reads the recorded end.
    if (!isOneOf(REFRESH_FAILURES, before) || before === 'refresh-token-expired') return [];
    return [[kindOf(before), { active: false }]];
  }
  // ServiceNow answered, with a refusal: an outage seen since was a blip (a lapsed token makes
  // those urgent, and one 503 between two refusals must not page).
  const answered: [IncidentKind, Observation][] =
    result.cause && REFUSALS.has(result.cause.kind)
      ? [['unavailable', { active: false, pendingOnly: true }]]
      : [];
  if (outcome === 'refresh-token-expired') {
    return [
      [
        'refresh-token-expiry',
        { active: true, reason: 'expired', severity: 'action-required', graceMs: 0, remind: true, level: 0 },
      ],
      ...answered,
    ];
  }
  if (isOneOf(REFRESH_FAILURES_NEEDING_A_PERSON, outcome)) {
    return [
      ['refresh', { active: true, reason: outcome, severity: 'action-required', graceMs: 0, remind: true }],
      ...answered,
    ];
  }
  if (!isOneOf(RETRIED_REFRESH_FAILURES, outcome)) return [];
  const lapsing = accessTokenExpiresAt === undefined || accessTokenExpiresAt - now <= LAPSE_MS;
  // Urgent while this failure is what stands between the stored token and its refresh: it lapses
  // now, or lapsed within the grace period. A token lapsed longer ago has had its reason told (an
  // outage announced at the lapse, a refusal a person must fix): a blip now is a blip.
  const urgent = lapsing && (accessTokenExpiresAt === undefined || now - accessTokenExpiresAt <= graceMs);
  // An unavailable instance says why (hibernating, offline...): the incident keeps its words.
  const reason = result.cause?.kind === 'unavailable' ? result.cause.reason : outcome;
  return [
    [
      kindOf(outcome),
      {
        active: true,
        reason,
        severity: lapsing ? 'action-required' : 'warning',
        graceMs: urgent ? URGENT_GRACE_MS : graceMs,
        remind: true,
      },
    ],
  ];
}

function kindOf(failure: RefreshFailure): IncidentKind {
  if (failure === 'unavailable' || failure === 'timeout' || failure === 'network-error') return 'unavailable';
  if (failure === 'rate-limited') return 'rate-limited';
  if (failure === 'refresh-token-expired') return 'refresh-token-expiry';
  return 'refresh';
}
