import { createHash } from 'node:crypto';
import { withoutUnknownMembers } from '../closed-set';
import { PROBE_VERDICTS, type ProbeVerdict } from '../probe-verdict';
import { RECORDED_OUTCOMES, type RecordedOutcome } from '../refresh-outcome';
import { GRANTS, type Grant } from '../secrets/credentials-secret';
import * as z from '../zod';

/**
 * What the system knows about one instance, held in the state table (never a usable secret: tokens
 * appear as fingerprints, and a rotated refresh token waiting to be stored only sealed). The
 * refresher writes it under its lease; the probe, the alerts and the CLI's status read it without
 * touching the credentials secret.
 */
export interface InstanceState {
  readonly instance: string;
  /** Bumped by every write. */
  readonly version: number;

  /** Mirrors the access-token secret. */
  readonly accessTokenExpiresAt?: number;
  readonly accessTokenFingerprint?: string;
  readonly accessTokenRefreshedAt?: number;
  /** Seen from a fresh token's expires_in (+1 s, as ServiceNow reports one less). */
  readonly accessTokenLifespanSeconds?: number;
  /** Learned: an early refresh on this instance hands back the current token, so wait for expiry instead. */
  readonly echoesEarlyRefresh?: boolean;

  /** Mirrors the credentials secret's refresh-token fields, so readers need not open it. */
  readonly grant?: Grant;
  readonly refreshTokenIssuedAt?: number;
  readonly refreshTokenLifespanSeconds?: number;
  readonly refreshTokenFingerprint?: string;
  /** jwt_bearer: when the signing certificate registered in ServiceNow expires. */
  readonly certificateExpiresAt?: number;

  /** The last refresh attempt and its outcome. */
  readonly lastAttemptAt?: number;
  readonly lastOutcome?: RecordedOutcome;
  readonly lastOutcomeDetail?: string;
  readonly lastSuccessAt?: number;
  /** When the current run of failures began; absent while healthy. */
  readonly failingSince?: number;
  readonly consecutiveFailures?: number;
  /** No automatic attempt before this time (after a failure); forced refreshes ignore it. */
  readonly nextAttemptAt?: number;
  /**
   * ServiceNow said no request before this time (Retry-After, or X-RateLimit-Reset): a request
   * sooner cannot succeed and counts against the hourly limit. Honoured by every run, forced too.
   */
  readonly notBefore?: number;

  /** The probe's last verdict (see lambda/probe). */
  readonly lastProbeAt?: number;
  readonly lastProbeVerdict?: ProbeVerdict;
  readonly lastProbeDetail?: string;
  readonly lastProbeLatencyMs?: number;

  /**
   * The write-ahead intent: what a writer is about to store, recorded under its lease BEFORE it
   * writes a secret. `intentOpenSince` is present until the state agrees with the secrets again;
   * the rest is kept afterwards, so a token ServiceNow hands back later is never given a longer life
   * than the one first recorded for it (see docs/reliability.md).
   */
  readonly intentFingerprint?: string;
  readonly intentExpiresAt?: number;
  readonly intentLifespanSeconds?: number;
  readonly intentRefreshTokenFingerprint?: string;
  readonly intentOpenSince?: number;
  /**
   * Set before a grant is sent and cleared once its answer is recorded: a grant whose answer was
   * never recorded may have issued a token ServiceNow hands back later, claiming a fresh lifespan.
   */
  readonly grantOpenSince?: number;

  /**
   * A rotated refresh token the credentials secret could not take yet, sealed with a key derived
   * from the client secret (never readable from this table alone), and the fingerprint of the token
   * it replaces. See pending-refresh-token.ts.
   */
  readonly pendingRefreshToken?: string;
  readonly pendingRefreshTokenReplaces?: string;

  readonly leaseOwner?: string;
  readonly leaseExpiresAt?: number;
  /** Bumped by every lease acquisition: the fencing token each commit under that lease checks. */
  readonly leaseEpoch?: number;
}

/** The fields a writer may set; `null` removes a field. */
export type StatePatch = {
  -readonly [K in Exclude<
    keyof InstanceState,
    'instance' | 'version' | 'leaseOwner' | 'leaseExpiresAt' | 'leaseEpoch'
  >]?: InstanceState[K] | null;
};

/**
 * The closed sets among the state's fields, checked when read back. A value this version does not
 * know (written by a newer version, or by hand) reads as absent, as if never recorded: every reader
 * copes with that already, and the next write replaces it. Failing the read instead would stop the
 * refresher for the instance, and an access token nobody refreshes lapses.
 */
const closedFields = {
  grant: z.enum(GRANTS),
  lastOutcome: z.enum(RECORDED_OUTCOMES),
  lastProbeVerdict: z.enum(PROBE_VERDICTS),
};

/** A state table item as read from DynamoDB. */
export function readInstanceState(item: Record<string, unknown>): InstanceState {
  return withoutUnknownMembers(item, closedFields) as unknown as InstanceState;
}

/** A short, one-way tag of a token: tells tokens apart without storing them. */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}
