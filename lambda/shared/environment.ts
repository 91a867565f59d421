import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type InstanceConfig, instanceListSchema } from './instance-config';
import * as z from './zod';

/**
 * Validates a function's environment once, when it loads. A bad deployment fails at the first
 * invocation with a message naming the variable, not later with an undefined somewhere.
 */
export function parseEnvironment<T>(
  schema: z.core.$ZodType<T>,
  env: NodeJS.ProcessEnv,
  functionName: string,
): T {
  const parsed = z.safeParse(schema, env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`)
    .join('; ');
  throw new Error(
    `${functionName} is misconfigured: ${problems}. These variables are set by the CDK construct; redeploy the stack rather than editing them by hand.`,
  );
}

/** A JSON value held in an environment variable. */
export function jsonText(text: string, ctx: z.core.ParsePayload): unknown {
  try {
    return JSON.parse(text);
  } catch {
    ctx.issues.push({ code: 'custom', message: 'is not valid JSON', input: text });
    return undefined;
  }
}

/**
 * The configured instances: from INSTANCES_FILE (a JSON file bundled with the function, which is how
 * the construct ships them: Lambda's 4 KB environment cannot hold 200 instances), or from INSTANCES
 * (inline JSON, handy for a few instances and for tests).
 */
export function loadInstances(env: NodeJS.ProcessEnv, functionName: string): InstanceConfig[] {
  const file = env.INSTANCES_FILE;
  let text = env.INSTANCES;
  let source = 'INSTANCES';
  if (file) {
    const path = isAbsolute(file) ? file : join(env.LAMBDA_TASK_ROOT ?? process.cwd(), file);
    source = `INSTANCES_FILE (${path})`;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(
        `${functionName} is misconfigured: cannot read ${source}: ${(error as Error).message}. The construct bundles this file with the function; redeploy the stack.`,
      );
    }
  }
  if (text === undefined) {
    throw new Error(
      `${functionName} is misconfigured: set INSTANCES_FILE or INSTANCES. These variables are set by the CDK construct; redeploy the stack rather than editing them by hand.`,
    );
  }
  const parsed = z.safeParse(z.pipe(z.pipe(z.string(), z.transform(jsonText)), instanceListSchema), text);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(list)'}: ${i.message}`).join('; ');
  throw new Error(
    `${functionName} is misconfigured: ${source}: ${problems}. These variables are set by the CDK construct; redeploy the stack rather than editing them by hand.`,
  );
}
