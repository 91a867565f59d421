import type { InstanceConfig } from '../shared/instance-config';
import type { RefreshResponse } from '../shared/refresh-requester';
import type { RefreshRequestLimit } from '../shared/state/refresh-request-limit';
import * as z from '../shared/zod';
import type { RefreshDeps } from './refresh-instance';
import { type RefreshReporting, reportRefreshResults } from './refresh-report';
import { decideRefreshRequest, refreshRequestForTokenSchema } from './refresh-request';
import { createRefreshSchedule, type RunOptions } from './refresh-schedule';

/**
 * An operator's invocation in-process (the CLI's `refresh`, tests): any instances, forced if asked.
 * The deployed function refuses it (see `RefresherDeps.invokers`).
 */
export const refreshRequestSchema = z.strictObject({
  action: z.literal('refresh'),
  instances: z.optional(z.array(z.string()).check(z.minLength(1))),
  force: z.optional(z.boolean()),
});

export interface RefresherDeps extends RefreshDeps {
  /** Metrics, integration events and incidents for every run. @default none: the results only */
  readonly reporting?: RefreshReporting;
  /**
   * Who reaches this refresher. "operators": it runs in-process with the caller's own AWS access (the
   * CLI, tests), so a forced refresh of any instance is allowed. "anyone-with-invoke": the deployed
   * function, which every holder of lambda:InvokeFunction reaches (sync jobs, the probe); it accepts
   * only the schedule and per-token requests (refresh-request.ts), and its answers name no other
   * instance.
   * @default "operators"
   */
  readonly invokers?: 'operators' | 'anyone-with-invoke';
  /** Counts per-token requests per instance and minute; without it such requests are refused. */
  readonly requestLimit?: RefreshRequestLimit;
}

/** EventBridge's scheduled event (rule or Scheduler); its content does not matter. */
const scheduledEventSchema = z.looseObject({ source: z.string() });

export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/**
 * One invocation of the refresher: an EventBridge schedule's event, a sync job's (or the probe's)
 * per-token request, or an operator's in-process request. Answers with a result per instance, or
 * throws when an AWS call failed (the invocation is retried).
 */
export type Refresher = (event: unknown, context?: InvocationContext) => Promise<RefreshResponse>;

/**
 * The refresher's core, built once per execution environment (it remembers when each instance
 * next needs a look): validates the event, runs the due refreshes, reports them, and maps the
 * summary to a response or a thrown error.
 */
export function createRefresher(deps: RefresherDeps, instances: readonly InstanceConfig[]): Refresher {
  const schedule = createRefreshSchedule(deps, instances);
  const { clock, settings, logger, reporting } = deps;
  const trusted = (deps.invokers ?? 'operators') === 'operators';
  return async (event, context) => {
    const start = clock.now();
    const forToken = refreshRequestForTokenSchema.safeParse(event);
    let run: Pick<RunOptions, 'force' | 'only'> | undefined;
    if (forToken.success) {
      if (!deps.requestLimit) {
        throw new Error('refresh requests need the request limit (the state table); none was configured');
      }
      const decided = await decideRefreshRequest(
        { clock, logger, state: deps.state, limit: deps.requestLimit },
        instances,
        forToken.data,
      );
      if (decided.kind === 'answer') return { results: [decided.result] };
      run = decided.options;
    }
    const request = forToken.success ? undefined : refreshRequestSchema.safeParse(event);
    if (request?.success && !trusted) {
      throw new Error(
        'this refresher takes no forced or multi-instance requests from invokers: a sync job sends {"action":"refresh","instance":"<name>","fingerprint":"<fingerprint of the token it saw fail>"} (the token client does this); operators force a refresh with "snow-token refresh <instance>"',
      );
    }
    if (!run && !request?.success && !scheduledEventSchema.safeParse(event).success) {
      throw new Error(
        'unrecognised event: send {"action":"refresh","instance":"<name>","fingerprint":"<fingerprint>"}, or invoke from the schedule',
      );
    }
    if (!run && request?.success) run = { force: request.data.force ?? false, only: request.data.instances };
    // An email this environment could not send last time goes out now, not at the next refresh.
    await reporting?.alerts.retryUnsent().catch((error: unknown) => {
      logger.warn('a parked alert email could not be sent yet; the next run tries again', {
        error: (error as Error).name,
      });
    });
    const remaining = context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
    const waitUntil = Math.min(
      start + settings.scheduleIntervalMs,
      start + remaining - settings.attemptBudgetMs - 10_000,
    );
    const summary = await schedule({ force: run?.force ?? false, only: run?.only, waitUntil });
    const direct = run !== undefined;
    const response: RefreshResponse = {
      results: summary.results
        // An untrusted caller's scheduled-looking event is answered with no instance's detail.
        .filter(() => direct || trusted)
        .filter((r) => r.outcome !== 'not-due' || direct)
        .map((r) => ({
          instance: r.instance,
          outcome: r.outcome,
          ...(r.detail && { detail: r.detail }),
          ...(r.state?.accessTokenExpiresAt !== undefined && {
            accessTokenExpiresAt: new Date(r.state.accessTokenExpiresAt).toISOString(),
          }),
        })),
    };
    if (reporting) {
      // Best effort: the tokens are stored; a failed event or alert must not fail the caller's request.
      // Alerts that could not be sent stay parked in the incident table for the next run to send.
      await reportRefreshResults(summary.results, instances, { clock, reporting, logger }).catch(
        (error: unknown) => {
          logger.warn('could not send every event or alert for this run; the next run tries again', {
            error: (error as Error).name,
            message: (error as Error).message,
          });
        },
      );
    }
    if (summary.errors.length > 0) {
      for (const { instance, error } of summary.errors) {
        logger.error('refresh run failed on an AWS call; it will be retried', {
          instance,
          error: (error as Error).name,
          message: (error as Error).message,
        });
      }
      const which = direct || trusted ? summary.errors.map((e) => e.instance).join(', ') : 'some instances';
      throw new Error(`refresh failed for ${which} (AWS errors, logged); retry the invocation`);
    }
    return response;
  };
}
