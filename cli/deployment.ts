import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { z } from 'zod';
import { DEFAULT_SCHEDULE } from '../lambda/shared/deployment-contract';
import { type InstanceConfig, instanceListSchema } from '../lambda/shared/instance-config';
import { isLoopbackUrl } from '../lambda/shared/servicenow/instance-url';
import { loadDeploymentConfig, SERVICENOW_HOST } from '../lib/deployment-config';
import { allowedHostProblem } from '../lib/security-checks';
import { CliError, EXIT } from './errors';

/** Everything the CLI needs to know about one deployment. */
export interface Deployment {
  readonly stackName: string;
  /** The region the configuration names, which the AWS clients then use (unless --region says otherwise). */
  readonly region?: string;
  readonly instances: readonly InstanceConfig[];
  readonly stateTableName: string;
  readonly alertTopicArn: string;
  readonly refresherFunctionName: string;
  readonly refreshAheadSeconds: number;
  readonly scheduleIntervalSeconds: number;
  /** Per instance, the configured refresh-token lifespan (days): the default for tokens handed to other tools. */
  readonly refreshTokenLifespanDays?: Readonly<Record<string, number>>;
}

/** A deployment written out in full (for machines without the deployment repository, and for tests). */
const deploymentFileSchema = z
  .object({
    stackName: z.string().default('ServiceNowTokenRefresher'),
    instances: instanceListSchema,
    /** As in the configuration file: hosts outside *.service-now.com the instances may use. */
    allowedHosts: z.array(z.string()).default([]),
    stateTableName: z.string().min(1),
    alertTopicArn: z.string().min(1),
    refresherFunctionName: z.string().min(1),
    refreshAheadSeconds: z.number().int().positive().default(DEFAULT_SCHEDULE.refreshAheadSeconds),
    scheduleIntervalSeconds: z.number().int().positive().default(60),
    refreshTokenLifespanDays: z.record(z.string(), z.number().int().positive()).optional(),
  })
  // Pinned as the configuration file is: the CLI sends client secrets and typed passwords to these hosts.
  .superRefine((file, ctx) => {
    file.allowedHosts.forEach((host, index) => {
      const problem = allowedHostProblem(host);
      if (problem) ctx.addIssue({ code: 'custom', path: ['allowedHosts', index], message: problem });
    });
    const allowed = new Set(file.allowedHosts);
    file.instances.forEach((instance, index) => {
      const url = new URL(instance.url);
      if (SERVICENOW_HOST.test(url.hostname) || allowed.has(url.hostname) || isLoopbackUrl(url)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['instances', index, 'url'],
        message: `host "${url.hostname}" is outside *.service-now.com; add it to the file's allowedHosts if it really is your instance, e.g. "allowedHosts": ["${url.hostname}"]`,
      });
    });
  });

/** The config file the CDK app uses: -c config=... in cdk.json's context, found from the current folder up. */
function configPathFromCdkJson(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const cdkJson = join(dir, 'cdk.json');
    if (existsSync(cdkJson)) {
      const context = (JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: { config?: string } })
        .context;
      return context?.config ? join(dir, context.config) : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** --stack names the deployment the command is meant for: a configuration of another one is refused. */
function checkStack(expected: string | undefined, actual: string, source: string): void {
  if (expected !== undefined && expected !== actual) {
    throw new CliError(
      `${source} is for the stack ${actual}, not ${expected}. Run from the repository that deploys ${expected}, or pass --config <its configuration file>.`,
      EXIT.environment,
    );
  }
}

export async function resolveDeployment(
  options: {
    readonly config?: string;
    readonly deployment?: string;
    readonly stack?: string;
    /** --region: wins over the configuration's. */
    readonly region?: string;
    readonly cwd: string;
  },
  cloudFormation: (region: string | undefined) => Pick<CloudFormationClient, 'send'>,
): Promise<Deployment> {
  if (options.deployment) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(options.deployment, 'utf8'));
    } catch (error) {
      throw new CliError(
        `Cannot read the deployment file ${options.deployment}: ${(error as Error).message}`,
        EXIT.environment,
      );
    }
    const parsed = deploymentFileSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`)
        .join('; ');
      throw new CliError(
        `The deployment file ${options.deployment} is not valid: ${problems}`,
        EXIT.environment,
      );
    }
    checkStack(options.stack, parsed.data.stackName, `The deployment file ${options.deployment}`);
    return parsed.data;
  }
  const configPath = options.config ?? configPathFromCdkJson(options.cwd);
  if (!configPath) {
    throw new CliError(
      'No deployment configuration found. Run from the deployment repository (its cdk.json names the config file), or pass --config <file>.',
      EXIT.environment,
    );
  }
  let config: ReturnType<typeof loadDeploymentConfig>;
  try {
    config = loadDeploymentConfig(configPath);
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.environment);
  }
  checkStack(options.stack, config.stackName, `The configuration ${configPath}`);
  const region = options.region ?? config.region;
  let outputs: Record<string, string>;
  try {
    const out = await cloudFormation(region).send(new DescribeStacksCommand({ StackName: config.stackName }));
    outputs = Object.fromEntries(
      (out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
  } catch (error) {
    if (/does not exist/i.test((error as Error).message)) {
      throw new CliError(
        `The stack ${config.stackName} is not deployed in this account and region${region ? ` (${region})` : ''}. Deploy it with "npx cdk deploy", or pass --region/--profile for the right account.`,
        EXIT.environment,
      );
    }
    throw error;
  }
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) {
      throw new CliError(
        `The stack ${config.stackName} has no output ${key}; redeploy it with this version.`,
        EXIT.environment,
      );
    }
    return value;
  };
  return {
    stackName: config.stackName,
    ...(region && { region }),
    instances: config.instances.map((i) => ({
      name: i.name,
      url: i.url,
      credentialsSecretId: `${config.secretNamePrefix}${i.name}/credentials`,
      accessTokenSecretId: `${config.secretNamePrefix}${i.name}/access-token`,
      ...(i.probePath && { probePath: i.probePath }),
    })),
    stateTableName: need('StateTableName'),
    alertTopicArn: need('AlertTopicArn'),
    refresherFunctionName: need('RefresherFunctionName'),
    refreshAheadSeconds: DEFAULT_SCHEDULE.refreshAheadSeconds,
    scheduleIntervalSeconds: config.schedules.refreshMinutes * 60,
    refreshTokenLifespanDays: Object.fromEntries(
      config.instances.map((i) => [i.name, i.refreshTokenLifespanDays]),
    ),
  };
}

export function findInstance(deployment: Deployment, name: string | undefined): InstanceConfig {
  const names = deployment.instances.map((i) => i.name).join(', ');
  if (!name) throw new CliError(`Name the instance, one of: ${names}`, EXIT.usage);
  const instance = deployment.instances.find((i) => i.name === name);
  if (!instance) {
    throw new CliError(`Unknown instance "${name}". This deployment has: ${names}`, EXIT.environment);
  }
  return instance;
}
