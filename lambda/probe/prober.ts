import type { AlertFacts, Alerts } from '../shared/alerts/alerts';
import type { Incident, IncidentKind, Observation } from '../shared/alerts/incident';
import { type IncidentStore, incidentKey } from '../shared/alerts/incident-store';
import type { Clock } from '../shared/clock';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import type { InstanceMetrics } from '../shared/metrics';
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

export type ProbeVerdict =
  | 'ok'
  | 'ok-after-refresh'
  | 'no-token'
  | 'token-expired'
  | 'forbidden'
  | 'unauthorized'
  | 'rate-limited'
  | 'unavailable';

export interface ProbeReport {
  readonly instance: string;
  readonly verdict: ProbeVerdict;
  readonly detail?: string;
  readonly latencyMs?: number;
}

/**
 * Proves the stored token works by calling the instance, and turns what it sees into incidents.
 * Per execution environment it keeps the token it read (until it expires) and the incidents it
 * knows of, so a healthy probe costs one ServiceNow call and no AWS call.
 */
export class Prober {
  private readonly tokens = new Map<string, { token: AccessTokenSecret; readAt: number }>();
  private incidents: { readonly at: number; readonly byKey: Map<string, Incident> } | undefined;
  private readonly recorded = new Map<string, { verdict: ProbeVerdict; at: number }>();
  /** Per instance: ServiceNow's Retry-After from a probe; no probe before it (it could not succeed). */
  private readonly notBefore = new Map<string, number>();

  constructor(
    private readonly deps: ProbeDeps,
    readonly instances: readonly InstanceConfig[],
  ) {}

  async run(): Promise<ProbeReport[]> {
    await this.loadIncidents();
    const reports: ProbeReport[] = [];
    for (const instance of this.instances) reports.push(await this.probe(instance));
    this.reportSilentInstances();
    return reports;
  }

  /**
   * The dead-man's switch, read from what sync jobs read: the stored token's `refreshedAt`. Every
   * probe run has just read the token of every instance whose cached one lapsed, so this costs no
   * call. One figure for the fleet, published on every run (its absence is a failure of its own);
   * the instances themselves go to the log, by name, for the person the alarm wakes.
   */
  private reportSilentInstances(): void {
    const now = this.deps.clock.now();
    const limit = this.deps.deadManMs ?? 2 * 3_600_000;
    const silent = this.instances.flatMap((instance) => {
      const token = this.tokens.get(instance.name)?.token;
      if (!token) return [];
      const refreshedAt = Date.parse(token.refreshedAt);
      return now - refreshedAt >= limit ? [{ instance: instance.name, refreshedAt: token.refreshedAt }] : [];
    });
    for (const { instance, refreshedAt } of silent) {
      this.deps.logger.error('dead-man: no new access token for this instance within the dead-man period', {
        instance,
        refreshedAt,
        deadManHours: limit / 3_600_000,
      });
    }
    this.deps.metrics.silentInstances(silent.length);
  }

  private maxAge() {
    return this.deps.memoryMaxAgeMs ?? 2 * 3_600_000;
  }

  private async loadIncidents() {
    const now = this.deps.clock.now();
    if (this.incidents && now - this.incidents.at < this.maxAge()) return;
    const byKey = await this.deps.incidents.getMany(
      this.instances.map((i) => i.name),
      PROBE_KINDS,
    );
    this.incidents = { at: now, byKey };
    // An email another function parked after a failure goes out with this run.
    for (const incident of byKey.values()) {
      const target = this.instances.find((i) => i.name === incident.name);
      if (!incident.outbox || !target) continue;
      await this.deps.alerts.sendParkedIn(target, incident).catch((error: unknown) => {
        this.deps.logger.warn('a parked alert email could not be sent yet', {
          instance: incident.name,
          error: (error as Error).name,
        });
      });
    }
  }

  private async storedToken(
    instance: InstanceConfig,
    reread: boolean,
  ): Promise<AccessTokenSecret | undefined> {
    const now = this.deps.clock.now();
    const cached = this.tokens.get(instance.name);
    if (
      !reread &&
      cached &&
      Date.parse(cached.token.expiresAt) > now &&
      now - cached.readAt < this.maxAge()
    ) {
      return cached.token;
    }
    const read = await this.deps.secrets.read(instance.accessTokenSecretId);
    if (read.kind === 'missing') return undefined;
    const parsed = parseSecretJson(accessTokenSecretSchema, read.text);
    if (parsed.kind === 'invalid') {
      this.deps.logger.error(
        'the access-token secret is not valid; the refresher rewrites it on its next refresh',
        {
          instance: instance.name,
          problem: parsed.problem,
        },
      );
      return undefined;
    }
    this.tokens.set(instance.name, { token: parsed.value, readAt: now });
    return parsed.value;
  }

  private async probe(instance: InstanceConfig): Promise<ProbeReport> {
    const { clock, metrics } = this.deps;
    let token = await this.storedToken(instance, false);
    if (!token) return { instance: instance.name, verdict: 'no-token' };
    if (Date.parse(token.expiresAt) <= clock.now()) {
      // The refresher owns expiry (and alerts on it); probing a lapsed token proves nothing.
      return { instance: instance.name, verdict: 'token-expired' };
    }
    const waitUntil = this.notBefore.get(instance.name);
    if (waitUntil !== undefined && clock.now() < waitUntil) {
      // Incidents stay as the last real answer left them; nothing new was learned.
      const detail = `not probed: ServiceNow asked for no request before ${new Date(waitUntil).toISOString()} (Retry-After)`;
      return { instance: instance.name, verdict: 'rate-limited', detail };
    }
    const client = this.deps.client(instance);
    let outcome = await client.probe(token.accessToken, instance.probePath);
    let verdict: ProbeVerdict | undefined;
    if (outcome.kind === 'unauthorized') {
      // A token that should be valid was refused: revoked, most likely. One immediate refresh, then look again.
      const refreshed = await this.requestRefresh(instance, token.accessToken);
      token = await this.storedToken(instance, true);
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
    if (retryAt === undefined) this.notBefore.delete(instance.name);
    else this.notBefore.set(instance.name, retryAt);
    metrics.emit(instance.name, {
      ProbeSuccess: outcome.kind === 'ok' ? 1 : 0,
      ProbeFailure: outcome.kind === 'ok' ? 0 : 1,
      ProbeLatency: outcome.kind === 'ok' ? outcome.value.latencyMs : undefined,
      AccessTokenSecondsRemaining: token
        ? Math.max(0, Math.round((Date.parse(token.expiresAt) - clock.now()) / 1000))
        : undefined,
    });
    const detail = outcome.kind === 'ok' ? undefined : describeOutcome(outcome);
    await this.observe(instance, outcome, token, detail);
    await this.record(instance, verdict, detail, outcome.kind === 'ok' ? outcome.value.latencyMs : undefined);
    return {
      instance: instance.name,
      verdict,
      ...(detail && { detail }),
      ...(outcome.kind === 'ok' && { latencyMs: outcome.value.latencyMs }),
    };
  }

  private async requestRefresh(instance: InstanceConfig, refused: string): Promise<boolean> {
    try {
      const result = await this.deps.refresher.requestRefresh(instance.name, refused);
      return ['refreshed', 'current-token-returned', 'token-changed'].includes(result.outcome);
    } catch (error) {
      this.deps.logger.error('could not ask the refresher for a new token', {
        instance: instance.name,
        error: (error as Error).message,
      });
      return false;
    }
  }

  private async observe(
    instance: InstanceConfig,
    outcome: Outcome<ProbeResult>,
    token: AccessTokenSecret | undefined,
    detail: string | undefined,
  ) {
    const facts: AlertFacts = {
      detail,
      accessTokenExpiresAt: token ? Date.parse(token.expiresAt) : undefined,
    };
    const seen = observationsFor(outcome, this.deps.graceMs);
    for (const kind of PROBE_KINDS) {
      const observation = seen.get(kind) ?? { active: false };
      const key = incidentKey(instance.name, kind);
      const known = this.incidents?.byKey.get(key);
      // Nothing recorded and nothing seen: nothing to do, and no call to make.
      if (!observation.active && (!known || known.status === 'closed')) continue;
      await this.deps.alerts.observe(instance, kind, observation, facts, known ?? null);
      // Read it afresh next time: it may have just changed.
      const fresh = await this.deps.incidents.get(instance.name, kind);
      if (fresh) this.incidents?.byKey.set(key, fresh);
      else this.incidents?.byKey.delete(key);
    }
  }

  /** Keeps the state table's probe fields current for `status`: on every change, and every 6 hours. */
  private async record(instance: InstanceConfig, verdict: ProbeVerdict, detail?: string, latencyMs?: number) {
    const now = this.deps.clock.now();
    const last = this.recorded.get(instance.name);
    if (last && last.verdict === verdict && now - last.at < 6 * 3_600_000) return;
    await this.deps.state.recordProbe(instance.name, {
      lastProbeAt: now,
      lastProbeVerdict: verdict,
      lastProbeDetail: detail ?? null,
      lastProbeLatencyMs: latencyMs ?? null,
    });
    this.recorded.set(instance.name, { verdict, at: now });
  }
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
