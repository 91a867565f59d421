import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { consumerIncidentName } from '../consumers/consumer-tokens';
import type { Logger } from '../logger';
import {
  type Incident,
  type IncidentKind,
  type Notice,
  type Observation,
  type OutboxMessage,
  transition,
} from './incident';
import { IncidentConflictError, type IncidentStore } from './incident-store';
import { composeMessage, type DeploymentFacts, incidentSubject, type MessageContext } from './messages';
import type { IntegrationEvent, Notifier } from './notifier';

export interface AlertSettings {
  /** Default 24 h. */
  readonly reminderMs: number;
  /** How long an unsent email may stay claimed before another writer sends it. Default 2 min. */
  readonly outboxStaleMs: number;
  /** The operator CLI as typed in the deployment repository. Default "npx snow-token". */
  readonly cli: string;
  /** The runbook's address (its section anchors are appended). Default none: the emails carry the steps. */
  readonly runbook?: string;
  /** The stack, account and region every email names. */
  readonly deployment: DeploymentFacts;
}

export const DEFAULT_ALERT_SETTINGS: Omit<AlertSettings, 'deployment'> = {
  reminderMs: 24 * 3_600_000,
  outboxStaleMs: 2 * 60_000,
  cli: 'npx snow-token',
};

/** What the messages may say about the instance right now (no secret values). */
export type AlertFacts = Omit<
  MessageContext,
  | 'now'
  | 'since'
  | 'cli'
  | 'runbook'
  | 'instanceName'
  | 'instanceUrl'
  | 'consumer'
  | 'deployment'
  | 'incidentSubject'
>;

export interface AlertTarget {
  readonly name: string;
  readonly url: string;
  /** Set for a token held by another tool: its incidents are the tool's own, per instance. */
  readonly consumer?: string;
}

/** The name a target's incidents are stored under. */
function incidentName(target: AlertTarget): string {
  return target.consumer === undefined ? target.name : consumerIncidentName(target.name, target.consumer);
}

/** Tries at clearing an outbox whose email went out (250, 500 and 1000 ms apart). */
const CLEAR_ATTEMPTS = 4;

/**
 * Runs incidents: reads the recorded state, applies the transition with a conditional write, and
 * only the writer that won the transition sends its email. The email is parked in the incident's
 * outbox first, so a sender that dies mid-way is replaced rather than repeated or lost.
 */
export class Alerts {
  /** Emails this environment parked after a failed send: retried on its next run, at no other cost. */
  private readonly unsent = new Map<string, { readonly target: AlertTarget; readonly kind: IncidentKind }>();
  /**
   * Outbox ids whose email SNS took but whose outbox could not be cleared: this environment clears
   * them on its next runs instead of sending them again.
   */
  private readonly sentNotCleared = new Set<string>();

  constructor(
    private readonly deps: {
      readonly store: IncidentStore;
      readonly notifier: Notifier;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly owner: string;
      readonly settings: AlertSettings;
    },
  ) {}

  /**
   * Applies one observation. `known` is the incident as the caller already read it (undefined: none
   * exists), or omitted to read it here. Returns the notice sent, if any.
   */
  async observe(
    target: AlertTarget,
    kind: IncidentKind,
    seen: Observation,
    facts: AlertFacts,
    known?: Incident | null,
  ): Promise<Notice | undefined> {
    const { store, clock, settings } = this.deps;
    let incident = known === null ? undefined : known;
    let fresh = known !== undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!fresh) incident = await store.get(incidentName(target), kind);
      fresh = false;
      if (incident?.outbox)
        await this.remembering(target, kind, this.sendParked(target, kind, incident.outbox));
      const now = clock.now();
      const change = transition(incident, seen, now, settings.reminderMs);
      if (!change) return undefined;
      const outbox = change.notice ? this.compose({ target, kind, change, incident, facts, now }) : undefined;
      // The subject an incident opens with is kept to its end, so its emails thread.
      const recorded = change.notice === 'opened' && outbox ? { ...change, subject: outbox.subject } : change;
      try {
        await store.apply({ name: incidentName(target), kind, previous: incident, change: recorded, outbox });
      } catch (error) {
        if (error instanceof IncidentConflictError) continue; // someone else moved it: look again
        throw error;
      }
      if (outbox) await this.remembering(target, kind, this.send(target, kind, outbox, facts));
      return change.notice;
    }
    this.deps.logger.warn('incident kept changing under us; leaving it to the next run', {
      instance: target.name,
      kind,
    });
    return undefined;
  }

  /**
   * Sends the emails this environment parked after a failure (the outbox keeps them), so they go
   * out on its next run rather than at the next observation of the same incident. No AWS call when
   * nothing is parked.
   */
  async retryUnsent(): Promise<void> {
    for (const [key, { target, kind }] of this.unsent) {
      const incident = await this.deps.store.get(target.name, kind);
      if (incident?.outbox) await this.sendParked(target, kind, incident.outbox);
      this.unsent.delete(key);
    }
  }

  /** Sends an email parked in an incident the caller read for its own reasons (no extra read). */
  async sendParkedIn(target: AlertTarget, incident: Incident): Promise<void> {
    if (incident.outbox) await this.sendParked(target, incident.kind, incident.outbox);
  }

  private async remembering(target: AlertTarget, kind: IncidentKind, sending: Promise<void>): Promise<void> {
    try {
      await sending;
    } catch (error) {
      this.unsent.set(`${target.name}/${kind}`, { target, kind });
      throw error;
    }
  }

  private compose({
    target,
    kind,
    change,
    incident,
    facts,
    now,
  }: {
    readonly target: AlertTarget;
    readonly kind: IncidentKind;
    readonly change: NonNullable<ReturnType<typeof transition>>;
    /** The incident before the change (undefined: none existed). */
    readonly incident: Incident | undefined;
    readonly facts: AlertFacts;
    readonly now: number;
  }): OutboxMessage {
    const reason = change.reason ?? incident?.reason ?? kind;
    const severity = change.severity ?? incident?.severity ?? 'warning';
    const notice = change.notice ?? 'opened';
    const since = change.firstSeenAt ?? incident?.firstSeenAt ?? now;
    const { cli, runbook, deployment } = this.deps.settings;
    const ctx: MessageContext = {
      ...facts,
      instanceName: target.name,
      instanceUrl: target.url,
      ...(target.consumer !== undefined && { consumer: target.consumer }),
      now,
      since,
      cli,
      deployment,
      ...(runbook && { runbook }),
    };
    // An incident opened before subjects were recorded gets the one it would have opened with.
    const subject =
      notice === 'opened'
        ? undefined
        : (incident?.subject ?? incidentSubject(kind, incident?.reason ?? reason, ctx));
    const message = composeMessage(
      { kind, reason, severity, notice },
      {
        ...ctx,
        ...(subject && { incidentSubject: subject }),
      },
    );
    return {
      id: randomUUID(),
      notice,
      reason,
      severity,
      subject: message.subject,
      body: message.body,
      claimedBy: this.deps.owner,
      claimedAt: now,
    };
  }

  private async send(target: AlertTarget, kind: IncidentKind, outbox: OutboxMessage, facts?: AlertFacts) {
    const { notifier, logger } = this.deps;
    await notifier.email({
      subject: outbox.subject,
      body: outbox.body,
      attributes: {
        instance: target.name,
        ...(target.consumer !== undefined && { consumer: target.consumer }),
        kind,
        severity: outbox.severity,
        notice: outbox.notice,
        reason: outbox.reason,
      },
    });
    const events: IntegrationEvent[] = [];
    const detail = {
      instance: target.name,
      ...(target.consumer !== undefined && { consumer: target.consumer }),
      kind,
      reason: outbox.reason,
      severity: outbox.severity,
    };
    if (outbox.notice === 'opened') events.push({ detailType: 'Incident Opened', detail });
    // Escalations (a countdown reaching action-required, an expiry) page routing rules as openings do.
    if (outbox.notice === 'escalated') events.push({ detailType: 'Incident Escalated', detail });
    if (outbox.notice === 'resolved') events.push({ detailType: 'Incident Resolved', detail });
    if (kind === 'refresh-token-expiry' && outbox.notice !== 'resolved') {
      events.push({
        detailType: 'Refresh Token Expiring',
        detail: {
          instance: target.name,
          expiresAt:
            facts?.refreshTokenExpiresAt === undefined
              ? undefined
              : new Date(facts.refreshTokenExpiresAt).toISOString(),
        },
      });
    }
    if (kind === 'consumer-token-expiry' && outbox.notice !== 'resolved') {
      events.push({
        detailType: 'Consumer Token Expiring',
        detail: {
          instance: target.name,
          consumer: target.consumer,
          expiresAt:
            facts?.consumerTokenExpiresAt === undefined
              ? undefined
              : new Date(facts.consumerTokenExpiresAt).toISOString(),
        },
      });
    }
    // The email is out: clear the outbox before anything else can fail, or the next writer would
    // send it again. The events are for machines and best effort: a failure is logged, not retried.
    await this.clearSent(target, kind, outbox.id);
    if (events.length) {
      await notifier.publish(events).catch((error: unknown) => {
        logger.error('could not put the incident events on EventBridge; the email went out', {
          instance: target.name,
          kind,
          notice: outbox.notice,
          error: (error as Error).message,
        });
      });
    }
    logger.info('alert sent', {
      instance: target.name,
      kind,
      notice: outbox.notice,
      subject: outbox.subject,
    });
  }

  /**
   * Clears the outbox of an email SNS has taken, with a few tries on top of the SDK's (an AWS window
   * can refuse several in a row): an outbox left behind would be sent again by the next writer.
   * If it still fails, this environment remembers the email went out and only clears it later.
   */
  private async clearSent(target: AlertTarget, kind: IncidentKind, outboxId: string): Promise<void> {
    this.sentNotCleared.add(outboxId);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.store.clearOutbox(incidentName(target), kind, outboxId);
        this.sentNotCleared.delete(outboxId);
        return;
      } catch (error) {
        if (attempt >= CLEAR_ATTEMPTS) {
          this.unsent.set(`${target.name}/${kind}`, { target, kind });
          throw error;
        }
        await this.deps.clock.sleep(250 * 2 ** (attempt - 1));
      }
    }
  }

  private async sendParked(target: AlertTarget, kind: IncidentKind, outbox: OutboxMessage) {
    if (this.sentNotCleared.has(outbox.id)) {
      await this.clearSent(target, kind, outbox.id);
      return;
    }
    const now = this.deps.clock.now();
    const claimed = await this.deps.store.claimOutbox({
      name: incidentName(target),
      kind,
      id: outbox.id,
      owner: this.deps.owner,
      now,
      staleBefore: now - this.deps.settings.outboxStaleMs,
    });
    if (claimed) await this.send(target, kind, outbox);
  }
}
