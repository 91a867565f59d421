import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ProbeReport } from '../../../lambda/probe/prober';
import type { InstanceResult } from '../../../lambda/refresher/refresh-instance';
import type { RequestResult } from '../../../lambda/refresher/refresh-request';
import type {
  AlertReason,
  INCIDENT_REASONS,
  Incident,
  IncidentKind,
  IncidentReason,
  IncidentReasonOf,
  Observation,
  OutboxMessage,
} from '../../../lambda/shared/alerts/incident';
import type { ProbeVerdict } from '../../../lambda/shared/probe-verdict';
import {
  HEALTHY_REFRESH_OUTCOMES,
  REFRESH_FAILURES,
  REFRESH_OUTCOMES,
  type RecordedOutcome,
  type RefreshOutcome,
  type RefreshReplyOutcome,
  type RequestOutcome,
  SKIPPED_REFRESH_OUTCOMES,
  TRANSIENT_REPLY_OUTCOMES,
} from '../../../lambda/shared/refresh-outcome';
import type { RefreshResponse } from '../../../lambda/shared/refresh-requester';
import type { CredentialsSecret, Grant } from '../../../lambda/shared/secrets/credentials-secret';
import type { FailedOutcome, UnavailableReason } from '../../../lambda/shared/servicenow/outcome';
import type { InstanceState, StatePatch } from '../../../lambda/shared/state/instance-state';

/*
 * Most of these checks are the compiler's: `npm test` runs tsc over test/, where an expectTypeOf
 * that does not hold, or a @ts-expect-error line that compiles, fails the build.
 */

describe('incident reasons', () => {
  it('are listed for every kind, and recorded and reported from that list only', () => {
    expectTypeOf<keyof typeof INCIDENT_REASONS>().toEqualTypeOf<IncidentKind>();
    expectTypeOf<Incident['reason']>().toEqualTypeOf<IncidentReason | undefined>();
    expectTypeOf<Extract<Observation, { active: true }>['reason']>().toEqualTypeOf<IncidentReason>();
    expectTypeOf<OutboxMessage['reason']>().toEqualTypeOf<AlertReason>();
    expectTypeOf<UnavailableReason>().toExtend<IncidentReasonOf<'unavailable'>>();
    const seen = { active: true, severity: 'warning', graceMs: 0, remind: false } as const;
    // @ts-expect-error an observation with a reason outside the closed set does not compile
    const solarFlare: Observation = { ...seen, reason: 'solar-flare' };
    expect(solarFlare.active).toBe(true);
  });
});

describe('refresh outcomes', () => {
  it('sorts every outcome into exactly one group', () => {
    const groups = [HEALTHY_REFRESH_OUTCOMES, REFRESH_FAILURES, SKIPPED_REFRESH_OUTCOMES].flat();
    expect(new Set(groups).size).toBe(groups.length);
    expect([...groups].sort()).toEqual([...REFRESH_OUTCOMES].sort());
  });

  it('passes on every ServiceNow failure but a refused grant, which it explains as one of its own', () => {
    expectTypeOf<Exclude<FailedOutcome['kind'], 'rejected'>>().toExtend<RefreshOutcome>();
    expectTypeOf<'rejected'>().not.toExtend<RefreshOutcome>();
  });

  it("types the refresher's reply, its results and the state table's record from the constants", () => {
    expectTypeOf<InstanceResult['outcome']>().toEqualTypeOf<RefreshOutcome>();
    expectTypeOf<InstanceResult['previousOutcome']>().toEqualTypeOf<RecordedOutcome | undefined>();
    expectTypeOf<RequestResult['outcome']>().toEqualTypeOf<RequestOutcome>();
    expectTypeOf<RefreshResponse['results'][number]['outcome']>().toEqualTypeOf<RefreshReplyOutcome>();
    expectTypeOf<InstanceState['lastOutcome']>().toEqualTypeOf<RecordedOutcome | undefined>();
    // @ts-expect-error an outcome outside the closed set cannot be recorded
    const patch: StatePatch = { lastOutcome: 'no-such-outcome' };
    expect(patch).toBeDefined();
  });

  it('tells the token client which replies the refresher keeps retrying by itself', () => {
    expect([...TRANSIENT_REPLY_OUTCOMES].sort()).toEqual(
      ['network-error', 'rate-limited', 'request-limited', 'timeout', 'unavailable'].sort(),
    );
  });
});

describe('grants and probe verdicts', () => {
  it('types the grant the state table mirrors from the grants the credentials secret can hold', () => {
    expectTypeOf<Grant>().toEqualTypeOf<CredentialsSecret['grant']>();
    expectTypeOf<InstanceState['grant']>().toEqualTypeOf<Grant | undefined>();
    // @ts-expect-error a misspelt grant does not compile
    const patch: StatePatch = { grant: 'pasword' };
    expect(patch).toBeDefined();
  });

  it("types the probe's verdict and its record in the state table from one constant", () => {
    expectTypeOf<ProbeReport['verdict']>().toEqualTypeOf<ProbeVerdict>();
    expectTypeOf<InstanceState['lastProbeVerdict']>().toEqualTypeOf<ProbeVerdict | undefined>();
  });
});
