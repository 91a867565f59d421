import type { Alerts } from '../shared/alerts/alerts';
import type { IncidentKind, Observation } from '../shared/alerts/incident';
import { type IncidentStore, incidentKey } from '../shared/alerts/incident-store';
import type { Clock } from '../shared/clock';
import {
  type ConsumerToken,
  type ConsumerTokenStore,
  consumerIncidentName,
  consumerTokenExpiresAt,
  watchSecretName,
  watchSecretSchema,
} from '../shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import { parseSecretJson } from '../shared/secrets/credentials-secret';
import type { SecretStore } from '../shared/secrets/secret-store';
import type { ServiceNowClient } from '../shared/servicenow/servicenow-client';
import { countdown, type WatchReport } from './expiry-watch';

const DAY = 86_400_000;
export const CONSUMER_KINDS: readonly IncidentKind[] = ['consumer-token-expiry', 'consumer-token-refused'];

/** A watched token is proven at most once in this long, however often the watch runs (retries included). */
export const VERIFY_EVERY_MS = 20 * 3_600_000;

export interface ConsumerWatchDeps {
  readonly store: Pick<ConsumerTokenStore, 'listMany' | 'update'>;
  /** Reads watched tokens' secrets (only the expiry watch is granted them). */
  readonly secrets: Pick<SecretStore, 'read'>;
  /** Host-pinned, one per configured instance: the only place a watched token is sent. */
  readonly serviceNow: (instance: InstanceConfig) => Pick<ServiceNowClient, 'requestToken'>;
  readonly logger: Logger;
}

interface SharedDeps {
  readonly clock: Clock;
  readonly incidents: Pick<IncidentStore, 'getMany'>;
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
    const proof = await verify(consumer, { instance, token, now, end });
    if (proof) {
      checks.push(['consumer-token-refused', proof.seen]);
      notices.push(`verified:${proof.verdict}`);
    }
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

type Verdict = NonNullable<ConsumerToken['lastVerdict']>;

/**
 * The daily proof of a watched token: one refresh grant, its access token dropped at once. Never
 * for a rotating token (a refresh would replace the token under the tool), an expired one (the
 * countdown covers it), or one proven less than VERIFY_EVERY_MS ago. Returns undefined when no
 * grant was spent.
 */
async function verify(
  deps: ConsumerWatchDeps,
  {
    instance,
    token,
    now,
    end,
  }: {
    readonly instance: InstanceConfig;
    readonly token: ConsumerToken;
    readonly now: number;
    /** When the token dies (clock ms). */
    readonly end: number;
  },
): Promise<{ readonly verdict: Verdict; readonly seen: Observation } | undefined> {
  if (!token.watched || token.rotating || now >= end) return undefined;
  if (token.lastVerifiedAt !== undefined && now - token.lastVerifiedAt < VERIFY_EVERY_MS) return undefined;
  const record = (verdict: Verdict, extra: Partial<Pick<ConsumerToken, 'rotating' | 'watched'>> = {}) =>
    deps.store.update(token.instance, token.consumer, token.recordedAt, {
      lastVerifiedAt: now,
      lastVerdict: verdict,
      ...extra,
    });
  const context = { instance: token.instance, consumer: token.consumer };
  const read = await deps.secrets.read(watchSecretName(instance.credentialsSecretId, token.consumer));
  const parsed = read.kind === 'value' ? parseSecretJson(watchSecretSchema, read.text) : undefined;
  if (parsed?.kind !== 'ok') {
    deps.logger.warn('watched token has no usable watch secret; hand it off again with --watch', {
      ...context,
      problem: parsed?.kind === 'invalid' ? parsed.problem : 'missing',
    });
    await record('no-secret');
    return undefined;
  }
  const secret = parsed.value;
  const outcome = await deps.serviceNow(instance).requestToken({
    grantType: 'refresh_token',
    clientId: secret.clientId,
    clientSecret: secret.clientSecret,
    refreshToken: secret.refreshToken,
  });
  // The access token in `outcome` is never stored, logged or returned: only the verdict leaves here.
  if (outcome.kind === 'ok') {
    const returned = outcome.value.refreshToken;
    if (returned !== undefined && returned !== secret.refreshToken) {
      // The instance started rotating after the handoff: this grant replaced the tool's token.
      await record('rotated', { rotating: true, watched: false });
      return {
        verdict: 'rotated',
        seen: { active: true, reason: 'rotated', severity: 'action-required', graceMs: 0, remind: false },
      };
    }
    await record('accepted');
    return { verdict: 'accepted', seen: { active: false } };
  }
  if (outcome.kind === 'rejected') {
    await record('refused');
    return {
      verdict: 'refused',
      seen: { active: true, reason: 'refused', severity: 'action-required', graceMs: 0, remind: true },
    };
  }
  // Unreachable, hibernating, rate limited: the probe reports the instance; the token is unproven today.
  deps.logger.info('could not verify a watched token today', { ...context, outcome: outcome.kind });
  await record('unavailable');
  return undefined;
}
