import type { InstanceConfig } from '../shared/instance-config';
import type { RefreshReplyOutcome } from '../shared/refresh-outcome';
import type { RefreshRequestLimit } from '../shared/state/refresh-request-limit';
import * as z from '../shared/zod';
import type { RefreshDeps } from './refresh-instance';
import { type RefreshReporting, reportRefreshResults } from './refresh-report';
import { decideRefreshRequest, refreshRequestForTokenSchema } from './refresh-request';
import { Refresher, type RunOptions } from './refresher';

/**
 * An operator's invocation in-process (the CLI's `refresh`, tests): any instances, forced if asked.
 * The deployed function refuses it (see `RefreshHandlerOptions.invokers`).
 */
export const refreshRequestSchema = z.strictObject({
  action: z.literal('refresh'),
  instances: z.optional(z.array(z.string()).check(z.minLength(1))),
  force: z.optional(z.boolean()),
});

export interface RefreshHandlerOptions {
  /**
   * Who reaches this handler. "operators": it runs in-process with the caller's own AWS access (the
   * CLI, tests), so a forced refresh of any instance is allowed. "anyone-with-invoke": the deployed
   * function, which every holder of lambda:InvokeFunction reaches (sync jobs, the probe); it accepts
   * only the schedule and per-token requests (refresh-request.ts), and its answers name no other
   * instance.
   * @default "operators"
   */
  readonly invokers?: 'operators' | 'anyone-with-invoke';
  /** Counts per-token requests per instance and minute; without it such requests are refused. */
  readonly requestLimit?: Pick<RefreshRequestLimit, 'take' | 'perMinute'>;
}

/** EventBridge's scheduled event (rule or Scheduler); its content does not matter. */
const scheduledEventSchema = z.looseObject({ source: z.string() });

export interface RefreshResponse {
  readonly results: readonly {
    readonly instance: string;
    readonly outcome: RefreshReplyOutcome;
    readonly detail?: string;
    readonly accessTokenExpiresAt?: string;
  }[];
}

export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** Parses the event, runs the refresher, and maps its summary to a response or a thrown error. */
export function createRefreshHandler(
  deps: RefreshDeps,
  instances: readonly InstanceConfig[],
  reporting?: RefreshReporting,
  options: RefreshHandlerOptions = {},
) {
  const refresher = new Refresher(deps, instances);
  const { clock, settings, logger } = deps;
  const trusted = (options.invokers ?? 'operators') === 'operators';
  return async (event: unknown, context?: InvocationContext): Promise<RefreshResponse> => {
    const start = clock.now();
    const forToken = refreshRequestForTokenSchema.safeParse(event);
    let run: Pick<RunOptions, 'force' | 'only'> | undefined;
    if (forToken.success) {
      if (!options.requestLimit) {
        throw new Error('refresh requests need the request limit (the state table); none was configured');
      }
      const decided = await decideRefreshRequest(
        { clock, logger, state: deps.state, limit: options.requestLimit },
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
    const summary = await refresher.run({ force: run?.force ?? false, only: run?.only, waitUntil });
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
