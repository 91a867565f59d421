import type { Alerts } from '../shared/alerts/alerts';
import type { IncidentKind, Observation } from '../shared/alerts/incident';
import { type IncidentStore, incidentKey } from '../shared/alerts/incident-store';
import type { Clock } from '../shared/clock';
import {
  type ConsumerTokenStore,
  consumerIncidentName,
  consumerTokenExpiresAt,
} from '../shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../shared/instance-config';
import { countdown, type WatchReport } from './expiry-watch';

const DAY = 86_400_000;
export const CONSUMER_KINDS: readonly IncidentKind[] = ['consumer-token-expiry', 'consumer-token-refused'];

export interface ConsumerWatchDeps {
  readonly store: ConsumerTokenStore;
}

interface SharedDeps {
  readonly clock: Clock;
  readonly incidents: IncidentStore;
  readonly alerts: Alerts;
  readonly warningDays: readonly number[];
}

/**
 * The countdown of every refresh token handed off to another tool: the same thresholds, incident
 * machine and emails as the deployment's own token, one incident per tool and instance. A new
 * handoff replaces the record (and closes the incident from the CLI).
 */
export async function watchConsumerTokens(
  deps: SharedDeps,
  consumer: ConsumerWatchDeps,
  instances: readonly InstanceConfig[],
): Promise<WatchReport[]> {
  const byName = new Map(instances.map((i) => [i.name, i]));
  const tokens = (await consumer.store.listMany(instances.map((i) => i.name))).filter((t) =>
    byName.has(t.instance),
  );
  const incidents = await deps.incidents.getMany(
    tokens.map((t) => consumerIncidentName(t.instance, t.consumer)),
    CONSUMER_KINDS,
  );
  const reports: WatchReport[] = [];
  for (const token of tokens) {
    const instance = byName.get(token.instance) as InstanceConfig;
    const now = deps.clock.now();
    const end = consumerTokenExpiresAt(token);
    const thresholds = [...(instance.expiryWarningDays ?? deps.warningDays)].sort((a, b) => b - a);
    const checks: [IncidentKind, Observation][] = [
      ['consumer-token-expiry', countdown(end, now, thresholds)],
    ];
    const notices: string[] = [];
    for (const [kind, seen] of checks) {
      const known = incidents.get(incidentKey(consumerIncidentName(token.instance, token.consumer), kind));
      if (!seen.active && (!known || known.status === 'closed')) continue;
      const notice = await deps.alerts.observe(
        { name: instance.name, url: instance.url, consumer: token.consumer },
        kind,
        seen,
        { consumerTokenExpiresAt: end, consumerClientId: token.clientId },
        known ?? null,
      );
      if (notice) notices.push(`${kind}:${notice}`);
    }
    reports.push({
      instance: instance.name,
      consumer: token.consumer,
      daysLeft: Math.floor((end - now) / DAY),
      notices,
    });
  }
  return reports;
}
