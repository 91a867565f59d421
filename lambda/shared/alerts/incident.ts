import { withoutUnknownMembers } from '../closed-set';
import { REFRESH_FAILURES_NEEDING_A_PERSON } from '../refresh-outcome';
import { UNAVAILABLE_REASONS } from '../servicenow/outcome';
import * as z from '../zod';

/** The things that page ops. One incident state machine per instance and kind; every list of kinds reads this one. */
export const INCIDENT_KINDS = [
  'refresh',
  'access-denied',
  'unavailable',
  'rate-limited',
  'refresh-token-expiry',
  'certificate-expiry',
  'config-drift',
  // A refresh token handed off to another tool (Exalate...): its countdown, and its daily proof.
  'consumer-token-expiry',
  'consumer-token-refused',
] as const;

export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** A countdown's reasons: a fixed end ahead, or past. */
const COUNTDOWN = ['expiring', 'expired'] as const;

/** What each kind's observers report as the reason: one list per kind, every kind listed. */
export const INCIDENT_REASONS = {
  // The refresher: a failure a person must fix, or an answer it cannot use.
  refresh: [...REFRESH_FAILURES_NEEDING_A_PERSON, 'malformed'],
  // The probe.
  'access-denied': ['forbidden', 'unauthorized'],
  // The probe and the refresher: the instance's own reason, or the failure when it gave none.
  unavailable: [...UNAVAILABLE_REASONS, 'unavailable', 'timeout', 'network-error', 'malformed'],
  'rate-limited': ['rate-limited'],
  // The expiry watch.
  'refresh-token-expiry': COUNTDOWN,
  'certificate-expiry': COUNTDOWN,
  'config-drift': ['lifespan-too-short'],
  'consumer-token-expiry': COUNTDOWN,
  // The daily check of a handed-off token: ServiceNow refused it, or answered with a new one.
  'consumer-token-refused': ['refused', 'rotated'],
} as const satisfies Record<IncidentKind, readonly string[]>;

export type IncidentReasonOf<K extends IncidentKind> = (typeof INCIDENT_REASONS)[K][number];
export type IncidentReason = IncidentReasonOf<IncidentKind>;

/** Every reason of every kind, once. */
export const ALL_INCIDENT_REASONS: readonly IncidentReason[] = [
  ...new Set(Object.values(INCIDENT_REASONS).flat()),
];

/** What an email and its attributes name as the reason: the recorded one, or the kind itself when none is. */
export type AlertReason = IncidentReason | IncidentKind;

export type Severity = 'action-required' | 'warning';

export type Notice = 'opened' | 'reminder' | 'escalated' | 'resolved';

export interface OutboxMessage {
  readonly id: string;
  readonly notice: Notice;
  readonly subject: string;
  readonly body: string;
  readonly severity: Severity;
  readonly reason: AlertReason;
  /** Who claimed the sending, and when: another writer only takes over a stale claim. */
  readonly claimedBy: string;
  readonly claimedAt: number;
}

export interface Incident {
  readonly name: string;
  readonly kind: IncidentKind;
  /** pending: seen, but within its grace period; nobody has been told. */
  readonly status: 'pending' | 'open' | 'closed';
  readonly firstSeenAt?: number;
  /** While pending: the latest sighting. A pending condition not seen for a grace period is a new one. */
  readonly lastSeenAt?: number;
  readonly openedAt?: number;
  readonly closedAt?: number;
  readonly lastNotifiedAt?: number;
  /** For the refresh-token countdown: the smallest threshold (days) already announced. */
  readonly level?: number;
  readonly reason?: IncidentReason;
  readonly severity?: Severity;
  /** The subject the incident opened with: every email of the incident keeps it (mail clients thread by subject). */
  readonly subject?: string;
  readonly outbox?: OutboxMessage;
  readonly version: number;
}

export type Observation =
  | {
      readonly active: true;
      readonly reason: IncidentReason;
      readonly severity: Severity;
      /** How long the condition must last before anyone is told; 0 tells at once. */
      readonly graceMs: number;
      /** Repeat while open, every reminder interval. */
      readonly remind: boolean;
      /** A smaller level than the one announced is news of its own (the countdown). */
      readonly level?: number;
    }
  | {
      readonly active: false;
      /**
       * Evidence against a pending sighting, not proof of recovery: ServiceNow answered this
       * observer (with a refusal), so a pending outage was a blip and is dropped, but an open
       * incident is left to the observer that can call it over (a working refresh or probe).
       */
      readonly pendingOnly?: boolean;
    };

const recordedReason = { reason: z.enum(ALL_INCIDENT_REASONS) };
const parkedReason = { reason: z.enum([...ALL_INCIDENT_REASONS, ...INCIDENT_KINDS]) };

/**
 * An incident item as read from DynamoDB. Its kind is part of the key the reader asked for; a
 * reason this version does not know (written by a newer one) reads as absent, and a parked email's
 * as the kind, as for an incident that recorded none: the incident still runs and its email goes out.
 */
export function readIncident(item: Readonly<Record<string, unknown>>): Incident {
  const incident = withoutUnknownMembers(item, recordedReason) as unknown as Incident;
  if (!incident.outbox) return incident;
  const outbox = withoutUnknownMembers(incident.outbox as unknown as Record<string, unknown>, parkedReason);
  return { ...incident, outbox: { reason: incident.kind, ...outbox } as OutboxMessage };
}

/** Observers of an ongoing condition see it at least this often (the probe runs every 5 minutes). */
export const STALE_PENDING_MS = 30 * 60_000;

/** What a transition records: the incident's own fields, so the two cannot drift apart. */
export type Transition = Pick<Incident, 'status'> &
  Partial<
    Pick<
      Incident,
      | 'firstSeenAt'
      | 'lastSeenAt'
      | 'openedAt'
      | 'closedAt'
      | 'lastNotifiedAt'
      | 'level'
      | 'reason'
      | 'severity'
      | 'subject'
    >
  > & { readonly notice?: Notice };

/**
 * The pure rule: given what is recorded and what is seen now, what to record and whom to tell.
 * Returns undefined when nothing changes (and so nothing is written or sent).
 */
export function transition(
  incident: Incident | undefined,
  seen: Observation,
  now: number,
  reminderMs: number,
): Transition | undefined {
  const status = incident?.status ?? 'closed';
  if (!seen.active) {
    if (status === 'open' && !seen.pendingOnly)
      return { status: 'closed', closedAt: now, notice: 'resolved' };
    if (status === 'pending') return { status: 'closed', closedAt: now };
    return undefined;
  }
  const fields = { reason: seen.reason, severity: seen.severity, level: seen.level };
  // A pending condition nobody has seen for a long while was a blip that no one closed (its
  // observer moved on): this sighting starts a new one, rather than opening on old evidence. "A
  // long while" is the grace period, and never less than STALE_PENDING_MS: observers with a short,
  // urgent grace (the refresher, when a token lapses) must not restart what the probe saw a minute ago.
  const stale =
    status === 'pending' &&
    now - (incident?.lastSeenAt ?? incident?.firstSeenAt ?? now) > Math.max(seen.graceMs, STALE_PENDING_MS);
  if (status === 'closed' || stale) {
    if (seen.graceMs <= 0) {
      return {
        status: 'open',
        notice: 'opened',
        firstSeenAt: now,
        openedAt: now,
        lastNotifiedAt: now,
        ...fields,
      };
    }
    return { status: 'pending', firstSeenAt: now, lastSeenAt: now, ...fields };
  }
  if (status === 'pending') {
    const since = incident?.firstSeenAt ?? now;
    if (now - since >= seen.graceMs) {
      return {
        status: 'open',
        notice: 'opened',
        firstSeenAt: since,
        openedAt: now,
        lastNotifiedAt: now,
        ...fields,
      };
    }
    return { status: 'pending', lastSeenAt: now, ...fields };
  }
  // Open.
  if (seen.level !== undefined && incident?.level !== undefined && seen.level < incident.level) {
    return { status: 'open', notice: 'escalated', lastNotifiedAt: now, ...fields };
  }
  if (seen.remind && now - (incident?.lastNotifiedAt ?? 0) >= reminderMs) {
    return { status: 'open', notice: 'reminder', lastNotifiedAt: now, ...fields };
  }
  return undefined;
}
