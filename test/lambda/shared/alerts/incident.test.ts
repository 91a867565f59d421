import { describe, expect, it } from 'vitest';
import {
  type Incident,
  type Observation,
  type OutboxMessage,
  readIncident,
  transition,
} from '../../../../lambda/shared/alerts/incident';

const now = Date.UTC(2026, 2, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;
const incident = (fields: Partial<Incident>): Incident => ({
  name: 'acme',
  kind: 'unavailable',
  status: 'closed',
  version: 1,
  ...fields,
});
const outage: Observation = {
  active: true,
  reason: 'server-error',
  severity: 'warning',
  graceMs: 15 * MINUTE,
  remind: true,
};

describe('transition', () => {
  it('holds a new condition as pending within its grace period, telling nobody', () => {
    expect(transition(undefined, outage, now, DAY)).toMatchObject({ status: 'pending', firstSeenAt: now });
    expect(transition(undefined, outage, now, DAY)?.notice).toBeUndefined();
  });

  it('opens with one notice once the condition outlasts the grace period', () => {
    const pending = incident({ status: 'pending', firstSeenAt: now - 15 * MINUTE });
    expect(transition(pending, outage, now, DAY)).toMatchObject({
      status: 'open',
      notice: 'opened',
      openedAt: now,
    });
  });

  it('closes a pending condition silently when it clears', () => {
    const pending = incident({ status: 'pending', firstSeenAt: now - MINUTE });
    expect(transition(pending, { active: false }, now, DAY)).toEqual({ status: 'closed', closedAt: now });
  });

  it('opens at once when there is no grace period', () => {
    expect(transition(undefined, { ...outage, graceMs: 0 }, now, DAY)?.notice).toBe('opened');
  });

  it('reminds once per reminder interval while open, and not before', () => {
    const open = incident({ status: 'open', lastNotifiedAt: now - DAY + MINUTE });
    expect(transition(open, outage, now, DAY)).toBeUndefined();
    expect(transition(open, outage, now + MINUTE, DAY)?.notice).toBe('reminder');
  });

  it('announces a new, smaller countdown level once', () => {
    const seen: Observation = {
      active: true,
      reason: 'expiring',
      severity: 'warning',
      graceMs: 0,
      remind: false,
      level: 7,
    };
    const open = incident({
      kind: 'refresh-token-expiry',
      status: 'open',
      level: 14,
      lastNotifiedAt: now - MINUTE,
    });
    expect(transition(open, seen, now, DAY)).toMatchObject({ notice: 'escalated', level: 7 });
    expect(transition({ ...open, level: 7 }, seen, now, DAY)).toBeUndefined();
  });

  it('resolves an open incident with one notice', () => {
    expect(transition(incident({ status: 'open' }), { active: false }, now, DAY)).toMatchObject({
      status: 'closed',
      notice: 'resolved',
    });
    expect(transition(incident({ status: 'closed' }), { active: false }, now, DAY)).toBeUndefined();
  });
});

describe('a pending condition', () => {
  const blip: Observation = {
    active: true,
    reason: 'server-error',
    severity: 'warning',
    graceMs: 15 * MINUTE,
    remind: true,
  };

  it('records each sighting without telling anyone', () => {
    const pending = incident({
      status: 'pending',
      firstSeenAt: now - 5 * MINUTE,
      lastSeenAt: now - 5 * MINUTE,
    });
    expect(transition(pending, blip, now, DAY)).toMatchObject({ status: 'pending', lastSeenAt: now });
    expect(transition(pending, blip, now, DAY)?.notice).toBeUndefined();
  });

  it('keeps its start when an observer with a short, urgent grace sees it a minute later', () => {
    const pending = incident({
      status: 'pending',
      firstSeenAt: now - 2 * MINUTE,
      lastSeenAt: now - 2 * MINUTE,
    });
    const urgent: Observation = { ...blip, graceMs: MINUTE };
    expect(transition(pending, urgent, now, DAY)).toMatchObject({
      status: 'open',
      notice: 'opened',
      firstSeenAt: now - 2 * MINUTE,
    });
  });

  it('is dropped by an answer that refutes it, which leaves an open incident to its own observers', () => {
    const pending = incident({ status: 'pending', firstSeenAt: now - MINUTE, lastSeenAt: now - MINUTE });
    const answered: Observation = { active: false, pendingOnly: true };
    expect(transition(pending, answered, now, DAY)).toEqual({ status: 'closed', closedAt: now });
    expect(transition(incident({ status: 'open' }), answered, now, DAY)).toBeUndefined();
  });

  it('starts over when it has not been seen for a long while, instead of opening on old evidence', () => {
    const forgotten = incident({ status: 'pending', firstSeenAt: now - DAY, lastSeenAt: now - DAY });
    expect(transition(forgotten, blip, now, DAY)).toMatchObject({
      status: 'pending',
      firstSeenAt: now,
      lastSeenAt: now,
    });
  });
});

describe('an incident read back', () => {
  const parked: Omit<OutboxMessage, 'reason'> = {
    id: 'm1',
    notice: 'opened',
    subject: 'subject',
    body: 'body',
    severity: 'warning',
    claimedBy: 'probe',
    claimedAt: now,
  };

  it('keeps a reason this version knows, and the parked email as it was', () => {
    const item = incident({
      status: 'open',
      reason: 'hibernating',
      outbox: { ...parked, reason: 'hibernating' },
    });
    expect(readIncident({ ...item, instance: 'acme#incident#unavailable' })).toStrictEqual({
      ...item,
      instance: 'acme#incident#unavailable',
    });
  });

  it('reads a reason it does not know as none, and a parked email then names the kind, as for an incident that recorded none', () => {
    const read = readIncident({
      ...incident({ status: 'open' }),
      reason: 'solar-flare',
      outbox: { ...parked, reason: 'solar-flare' },
    });
    expect(read.reason).toBeUndefined();
    expect('reason' in read).toBe(false);
    expect(read.outbox).toStrictEqual({ ...parked, reason: 'unavailable' });
  });
});
