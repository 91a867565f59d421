import type { Clock } from '../shared/clock';
import { INSTANCE_NAME_PATTERN } from '../shared/deployment-contract';
import type { InstanceConfig } from '../shared/instance-config';
import type { Logger } from '../shared/logger';
import type { RequestOutcome } from '../shared/refresh-outcome';
import type { RefreshResult } from '../shared/refresh-requester';
import type { RefreshRequestLimit } from '../shared/state/refresh-request-limit';
import type { StateStore } from '../shared/state/state-store';
import * as z from '../shared/zod';
import type { RunOptions } from './refresh-schedule';

/**
 * What a sync job (or the probe) may ask of the deployed refresher: a new token for ONE instance,
 * because the token it holds failed or runs short. `fingerprint` is that token's fingerprint
 * (`fingerprint()` in lambda/shared/state/instance-state.ts); omit it only when the secret held
 * no token. Knowing the fingerprint proves the caller could read that instance's token.
 */
export const refreshRequestForTokenSchema = z.strictObject({
  action: z.literal('refresh'),
  instance: z.string().check(z.regex(INSTANCE_NAME_PATTERN)),
  fingerprint: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{16}$/))),
});
export type RefreshRequestForToken = z.output<typeof refreshRequestForTokenSchema>;

export interface RequestResult {
  readonly instance: string;
  readonly outcome: RequestOutcome;
  readonly detail?: string;
  readonly accessTokenExpiresAt?: string;
}

export interface RefreshRequestDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly state: Pick<StateStore, 'get'>;
  readonly limit: RefreshRequestLimit;
}

export type Decided =
  /** Answer without running the refresher. */
  | { readonly kind: 'answer'; readonly result: RefreshResult }
  /** Run the refresher for this one instance with these options. */
  | { readonly kind: 'run'; readonly options: Pick<RunOptions, 'force' | 'only'> };

/**
 * Decides a refresh request at the edge, before the refresher runs: an unknown instance is
 * refused, a token that already changed is answered from the state, and only requests within the
 * instance's per-minute limit reach ServiceNow. A request for a token that is still stored is
 * forced (ServiceNow refused it, or it is too short for the caller); one with no token stored is
 * an ordinary run, which honours the refresher's backoff.
 */
export async function decideRefreshRequest(
  deps: RefreshRequestDeps,
  instances: readonly InstanceConfig[],
  request: RefreshRequestForToken,
): Promise<Decided> {
  const name = request.instance;
  if (!instances.some((i) => i.name === name)) {
    // The configured names are not listed: the caller learns nothing about other instances.
    throw new Error(
      `no instance named "${name}" is configured in this refresher; check the instance name the sync job was given`,
    );
  }
  const state = await deps.state.get(name);
  const stored = state?.accessTokenFingerprint;
  const expiresAt =
    state?.accessTokenExpiresAt !== undefined
      ? { accessTokenExpiresAt: new Date(state.accessTokenExpiresAt).toISOString() }
      : {};
  if (stored !== undefined && stored !== request.fingerprint) {
    return {
      kind: 'answer',
      result: {
        instance: name,
        outcome: 'token-changed',
        detail: 'the stored token is not the one the request named; read the access-token secret again',
        ...expiresAt,
      },
    };
  }
  const now = deps.clock.now();
  const limit = await deps.limit.take(name, now);
  if (!limit.granted) {
    deps.logger.warn('refresh request refused: the instance has had its requests for this minute', {
      instance: name,
      perMinute: deps.limit.perMinute,
    });
    return {
      kind: 'answer',
      result: {
        instance: name,
        outcome: 'request-limited',
        detail: `${name} has had its ${deps.limit.perMinute} refresh requests for this minute; the next is accepted from ${new Date(limit.retryAt).toISOString()}, and the schedule keeps refreshing meanwhile`,
        ...expiresAt,
      },
    };
  }
  return { kind: 'run', options: { force: stored !== undefined, only: [name] } };
}
