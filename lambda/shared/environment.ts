import type { z } from 'zod';

/**
 * Validates a function's environment once, when it loads. A bad deployment fails at the first
 * invocation with a message naming the variable, not later with an undefined somewhere.
 */
export function parseEnvironment<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv, functionName: string): T {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`)
    .join('; ');
  throw new Error(
    `${functionName} is misconfigured: ${problems}. These variables are set by the CDK construct; redeploy the stack rather than editing them by hand.`,
  );
}

/** A JSON value held in an environment variable. */
export function jsonText(text: string, ctx: z.RefinementCtx): unknown {
  try {
    return JSON.parse(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
    return undefined;
  }
}
