import { z } from 'zod';
import type { InstanceConfig } from '../shared/instance-config';
import type { RefreshDeps } from './refresh-instance';
import { type RefreshReporting, reportRefreshResults } from './refresh-report';
import { Refresher } from './refresher';

/** A direct invocation: the CLI's `refresh`, a probe that saw a 401, or a consumer asking for a new token. */
export const refreshRequestSchema = z.object({
  action: z.literal('refresh'),
  instances: z.array(z.string()).min(1).optional(),
  force: z.boolean().optional(),
});

/** EventBridge's scheduled event (rule or Scheduler); its content does not matter. */
const scheduledEventSchema = z.looseObject({ source: z.string() });

export interface RefreshResponse {
  readonly results: readonly {
    readonly instance: string;
    readonly outcome: string;
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
) {
  const refresher = new Refresher(deps, instances);
  const { clock, settings, logger } = deps;
  return async (event: unknown, context?: InvocationContext): Promise<RefreshResponse> => {
    const start = clock.now();
    const request = refreshRequestSchema.safeParse(event);
    if (!request.success && !scheduledEventSchema.safeParse(event).success) {
      throw new Error(
        'unrecognised event: send {"action":"refresh","instances":["<name>"],"force":true}, or invoke from the schedule',
      );
    }
    const remaining = context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
    const waitUntil = Math.min(
      start + settings.scheduleIntervalMs,
      start + remaining - settings.attemptBudgetMs - 10_000,
    );
    const summary = await refresher.run({
      force: request.success ? (request.data.force ?? false) : false,
      only: request.success ? request.data.instances : undefined,
      waitUntil,
    });
    const response: RefreshResponse = {
      results: summary.results
        .filter((r) => r.outcome !== 'not-due' || request.success)
        .map((r) => ({
          instance: r.instance,
          outcome: r.outcome,
          ...(r.detail && { detail: r.detail }),
          ...(r.state?.accessTokenExpiresAt !== undefined && {
            accessTokenExpiresAt: new Date(r.state.accessTokenExpiresAt).toISOString(),
          }),
        })),
    };
    if (reporting) await reportRefreshResults(summary.results, instances, { clock, reporting });
    if (summary.errors.length > 0) {
      for (const { instance, error } of summary.errors) {
        logger.error('refresh run failed on an AWS call; it will be retried', {
          instance,
          error: (error as Error).name,
          message: (error as Error).message,
        });
      }
      throw new Error(
        `refresh failed for ${summary.errors.map((e) => e.instance).join(', ')} (AWS errors, logged); retry the invocation`,
      );
    }
    return response;
  };
}
