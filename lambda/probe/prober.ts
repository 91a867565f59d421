import type { AlertFacts, Alerts } from '../shared/alerts/alerts';
import type { Incident, IncidentKind, Observation } from '../shared/alerts/incident';
import { type IncidentStore, incidentKey } from '../shared/alerts/incident-store';
import type { Clock } from '../shared/clock';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import type { InstanceMetrics } from '../shared/metrics';
import type { ProbeVerdict } from '../shared/probe-verdict';
import type { RefreshRequester } from '../shared/refresh-requester';
import { type AccessTokenSecret, accessTokenSecretSchema } from '../shared/secrets/access-token-secret';
import { parseSecretJson } from '../shared/secrets/credentials-secret';
import type { SecretStore } from '../shared/secrets/secret-store';
import { describeOutcome, type Outcome } from '../shared/servicenow/outcome';
import type { ProbeResult, ServiceNowClient } from '../shared/servicenow/servicenow-client';
import type { StateStore } from '../shared/state/state-store';

export const PROBE_KINDS: readonly IncidentKind[] = ['access-denied', 'unavailable', 'rate-limited'];

export interface ProbeDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secrets: Pick<SecretStore, 'read'>;
  readonly state: Pick<StateStore, 'recordProbe'>;
  readonly incidents: Pick<IncidentStore, 'get' | 'getMany'>;
  readonly alerts: Alerts;
  readonly metrics: InstanceMetrics;
  readonly refresher: RefreshRequester;
  readonly client: (instance: InstanceConfig) => Pick<ServiceNowClient, 'probe'>;
  /** Unavailability and rate limits alert only after this long. Default 15 min. */
  readonly graceMs: number;
  /**
   * The dead-man's switch: an instance whose stored access token is older than this is silent (no
   * refresh has succeeded for it). Default 2 h, the construct's default.
   */
  readonly deadManMs?: number;
  /**
   * Re-read incidents and the stored token at least this often, to see what other functions changed.
   * Default 2 h; an incident this probe opened or a token it saw lapse is re-read at once anyway.
   */
  readonly memoryMaxAgeMs?: number;
}

export interface ProbeReport {
  readonly instance: string;
  readonly verdict: ProbeVerdict;
  readonly detail?: string;
  readonly latencyMs?: number;
}

/** One probe run over every configured instance. */
export type Prober = () => Promise<ProbeReport[]>;

/**
 * Proves the stored token works by calling the instance, and turns what it sees into incidents.
 * Built once per execution environment: it keeps the token it read (until it expires) and the
 * incidents it knows of, so a healthy probe costs one ServiceNow call and no AWS call.
 */
export function createProber(deps: ProbeDeps, instances: readonly InstanceConfig[]): Prober {
  const { clock, logger } = deps;
  const tokens = new Map<string, { token: AccessTokenSecret; readAt: number }>();
  let incidents: { readonly at: number; readonly byKey: Map<string, Incident> } | undefined;
  const recorded = new Map<string, { verdict: ProbeVerdict; at: number }>();
  /** Per instance: ServiceNow's Retry-After from a probe; no probe before it (it could not succeed). */
  const notBefore = new Map<string, number>();
  const maxAge = deps.memoryMaxAgeMs ?? 2 * 3_600_000;

  /**
   * The dead-man's switch, read from what sync jobs read: the stored token's `refreshedAt`. Every
   * probe run has just read the token of every instance whose cached one lapsed, so this costs no
   * call. One figure for the fleet, published on every run (its absence is a failure of its own);
   * the instances themselves go to the log, by name, for the person the alarm wakes.
   */
  const reportSilentInstances = (): void => {
    const now = clock.now();
    const limit = deps.deadManMs ?? 2 * 3_600_000;
    const silent = instances.flatMap((instance) => {
      const token = tokens.get(instance.name)?.token;
      if (!token) return [];
      const refreshedAt = Date.parse(token.refreshedAt);
      return now - refreshedAt >= limit ? [{ instance: instance.name, refreshedAt: token.refreshedAt }] : [];
    });
    for (const { instance, refreshedAt } of silent) {
      logger.error('dead-man: no new access token for this instance within the dead-man period', {
        instance,
        refreshedAt,
        deadManHours: limit / 3_600_000,
      });
    }
    deps.metrics.silentInstances(silent.length);
  };

  const loadIncidents = async () => {
    const now = clock.now();
    if (incidents && now - incidents.at < maxAge) return;
    const byKey = await deps.incidents.getMany(
      instances.map((i) => i.name),
      PROBE_KINDS,
    );
    incidents = { at: now, byKey };
    // An email another function parked after a failure goes out with this run.
    for (const incident of byKey.values()) {
      const target = instances.find((i) => i.name === incident.name);
      if (!incident.outbox || !target) continue;
      await deps.alerts.sendParkedIn(target, incident).catch((error: unknown) => {
        logger.warn('a parked alert email could not be sent yet', {
          instance: incident.name,
          error: (error as Error).name,
        });
      });
    }
  };

  const storedToken = async (
    instance: InstanceConfig,
    reread: boolean,
  ): Promise<AccessTokenSecret | undefined> => {
    const now = clock.now();
    const cached = tokens.get(instance.name);
    if (!reread && cached && Date.parse(cached.token.expiresAt) > now && now - cached.readAt < maxAge) {
      return cached.token;
    }
    const read = await deps.secrets.read(instance.accessTokenSecretId);
    if (read.kind === 'missing') return undefined;
    const parsed = parseSecretJson(accessTokenSecretSchema, read.text);
    if (parsed.kind === 'invalid') {
      logger.error('the access-token secret is not valid; the refresher rewrites it on its next refresh', {
        instance: instance.name,
        problem: parsed.problem,
      });
      return undefined;
    }
    tokens.set(instance.name, { token: parsed.value, readAt: now });
    return parsed.value;
  };

  const requestRefresh = async (instance: InstanceConfig, refused: string): Promise<boolean> => {
    try {
      const result = await deps.refresher.requestRefresh(instance.name, refused);
      return ['refreshed', 'current-token-returned', 'token-changed'].includes(result.outcome);
    } catch (error) {
      logger.error('could not ask the refresher for a new token', {
        instance: instance.name,
        error: (error as Error).message,
      });
      return false;
    }
  };

  const observe = async (
    instance: InstanceConfig,
    seen: { readonly outcome: Outcome<ProbeResult>; readonly facts: AlertFacts },
  ) => {
    const observed = observationsFor(seen.outcome, deps.graceMs);
    for (const kind of PROBE_KINDS) {
      const observation = observed.get(kind) ?? { active: false };
      const key = incidentKey(instance.name, kind);
      const known = incidents?.byKey.get(key);
      // Nothing recorded and nothing seen: nothing to do, and no call to make.
      if (!observation.active && (!known || known.status === 'closed')) continue;
      await deps.alerts.observe(instance, kind, observation, seen.facts, known ?? null);
      // Read it afresh next time: it may have just changed.
      const fresh = await deps.incidents.get(instance.name, kind);
      if (fresh) incidents?.byKey.set(key, fresh);
      else incidents?.byKey.delete(key);
    }
  };

  /** Keeps the state table's probe fields current for `status`: on every change, and every 6 hours. */
  const record = async (instance: InstanceConfig, report: ProbeReport) => {
    const now = clock.now();
    const last = recorded.get(instance.name);
    if (last && last.verdict === report.verdict && now - last.at < 6 * 3_600_000) return;
    await deps.state.recordProbe(instance.name, {
      lastProbeAt: now,
      lastProbeVerdict: report.verdict,
      lastProbeDetail: report.detail ?? null,
      lastProbeLatencyMs: report.latencyMs ?? null,
    });
    recorded.set(instance.name, { verdict: report.verdict, at: now });
  };

  const probe = async (instance: InstanceConfig): Promise<ProbeReport> => {
    let token = await storedToken(instance, false);
    if (!token) return { instance: instance.name, verdict: 'no-token' };
    if (Date.parse(token.expiresAt) <= clock.now()) {
      // The refresher owns expiry (and alerts on it); probing a lapsed token proves nothing.
      return { instance: instance.name, verdict: 'token-expired' };
    }
    const waitUntil = notBefore.get(instance.name);
    if (waitUntil !== undefined && clock.now() < waitUntil) {
      // Incidents stay as the last real answer left them; nothing new was learned.
      const detail = `not probed: ServiceNow asked for no request before ${new Date(waitUntil).toISOString()} (Retry-After)`;
      return { instance: instance.name, verdict: 'rate-limited', detail };
    }
    const client = deps.client(instance);
    let outcome = await client.probe(token.accessToken, instance.probePath);
    let verdict: ProbeVerdict | undefined;
    if (outcome.kind === 'unauthorized') {
      // A token that should be valid was refused: revoked, most likely. One immediate refresh, then look again.
      const refreshed = await requestRefresh(instance, token.accessToken);
      token = await storedToken(instance, true);
      if (refreshed && token && Date.parse(token.expiresAt) > clock.now()) {
        outcome = await client.probe(token.accessToken, instance.probePath);
        if (outcome.kind === 'ok') verdict = 'ok-after-refresh';
      } else {
        // The refresher could not get a new token; it alerts on that itself.
        return { instance: instance.name, verdict: 'unauthorized', detail: 'refresh requested and failed' };
      }
    }
    verdict ??= verdictOf(outcome);
    const retryAt =
      outcome.kind === 'rate-limited' || outcome.kind === 'unavailable' ? outcome.retryAt : undefined;
    if (retryAt === undefined) notBefore.delete(instance.name);
    else notBefore.set(instance.name, retryAt);
    deps.metrics.emit(instance.name, {
      ProbeSuccess: outcome.kind === 'ok' ? 1 : 0,
      ProbeFailure: outcome.kind === 'ok' ? 0 : 1,
      ProbeLatency: outcome.kind === 'ok' ? outcome.value.latencyMs : undefined,
      AccessTokenSecondsRemaining: token
        ? Math.max(0, Math.round((Date.parse(token.expiresAt) - clock.now()) / 1000))
        : undefined,
    });
    const detail = outcome.kind === 'ok' ? undefined : describeOutcome(outcome);
    await observe(instance, {
      outcome,
      facts: { detail, accessTokenExpiresAt: token ? Date.parse(token.expiresAt) : undefined },
    });
    const report: ProbeReport = {
      instance: instance.name,
      verdict,
      ...(detail && { detail }),
      ...(outcome.kind === 'ok' && { latencyMs: outcome.value.latencyMs }),
    };
    await record(instance, report);
    return report;
  };

  return async () => {
    await loadIncidents();
    const reports: ProbeReport[] = [];
    for (const instance of instances) reports.push(await probe(instance));
    reportSilentInstances();
    return reports;
  };
}

function verdictOf(outcome: Outcome<ProbeResult>): ProbeVerdict {
  switch (outcome.kind) {
    case 'ok':
      return 'ok';
    case 'forbidden':
      return 'forbidden';
    case 'unauthorized':
    case 'rejected':
      return 'unauthorized';
    case 'rate-limited':
      return 'rate-limited';
    default:
      return 'unavailable';
  }
}

function observationsFor(outcome: Outcome<ProbeResult>, graceMs: number): Map<IncidentKind, Observation> {
  const seen = new Map<IncidentKind, Observation>();
  switch (outcome.kind) {
    case 'ok':
      break;
    case 'forbidden':
      seen.set('access-denied', {
        active: true,
        reason: 'forbidden',
        severity: 'action-required',
        graceMs: 0,
        remind: true,
      });
      break;
    case 'unauthorized':
    case 'rejected':
      seen.set('access-denied', {
        active: true,
        reason: 'unauthorized',
        severity: 'action-required',
        graceMs: 0,
        remind: true,
      });
      break;
    case 'rate-limited':
      seen.set('rate-limited', {
        active: true,
        reason: 'rate-limited',
        severity: 'warning',
        graceMs,
        remind: true,
      });
      break;
    case 'unavailable':
      seen.set('unavailable', {
        active: true,
        reason: outcome.reason,
        severity: 'warning',
        graceMs,
        remind: true,
      });
      break;
    default:
      seen.set('unavailable', {
        active: true,
        reason: outcome.kind,
        severity: 'warning',
        graceMs,
        remind: true,
      });
  }
  return seen;
}
