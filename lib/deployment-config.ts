import { readFileSync } from 'node:fs';
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { z } from 'zod';
import { ACCESS_TOKEN_LIFESPAN_SECONDS } from '../lambda/shared/deployment-contract';
import { parseInstanceUrl } from '../lambda/shared/servicenow/instance-url';
import {
  brokenDurationRule,
  DEFAULT_EXPIRY_WATCH_HOUR_UTC,
  DEFAULT_SECRET_NAME_PREFIX,
  DURATION_RULES,
  type DurationProp,
  durationRuleText,
  fieldPath,
  issueMessage,
  refresherPropsSchema,
  type TimeUnit,
  tagsSchema,
} from './refresher-props-schema';
import { allowedHostProblem, foreignArnProblem, parseKmsKeyArn, parsePrincipalArn } from './security-checks';
import { ServiceNowGrant } from './servicenow-grant';
import type { ServiceNowTokenRefresherProps } from './servicenow-token-refresher';

/**
 * The deployment configuration file: JSON mapped onto the construct's props. The props are checked
 * by the construct's own validator (lib/refresher-props-schema.ts), so a rule can never differ
 * between the file and the construct; this module checks only the JSON's shape and what the file
 * has beyond the props (the stack's name, account, region, tags and key, the allowed hosts, the
 * declared access-token lifespans), and says each problem in the file's terms.
 */

/** The hosts ServiceNow serves instances from; any other must be listed in allowedHosts. */
export const SERVICENOW_HOST = /^[a-z0-9][a-z0-9-]*\.service-now\.com$/;

/** A number of whole `unit`s in the file, which becomes the Duration prop `prop`; its default is the prop's. */
const wholeUnits = (prop: DurationProp, unit: TimeUnit) => {
  const example = DURATION_RULES[prop].default.toSeconds() / Duration[unit](1).toSeconds();
  const message = `use whole ${unit}, e.g. ${example}`;
  return z.number(message).int(message).default(example);
};

const bool = z.boolean('use true or false, e.g. false').default(false);

const instanceSchema = z.strictObject({
  name: z.string('use lower-case letters, digits and dashes, e.g. "acme-prod"'),
  url: z.string('use the instance address, e.g. "https://acme.service-now.com"'),
  // Which grant is the props schema's to check; the file only needs a string.
  grant: z
    .custom<ServiceNowGrant>((value) => typeof value === 'string', 'use a grant name, e.g. "password"')
    .default(ServiceNowGrant.PASSWORD),
  refreshTokenLifespanDays: wholeUnits('refreshTokenLifespan', 'days'),
  /** The refresher's cap on `expires_in` for this instance; the dead-man period must cover two of them. */
  accessTokenLifespanSeconds: z.number('use whole seconds, e.g. 1800').optional(),
  probePath: z
    .string('use a REST API path on the instance, e.g. "/api/now/table/sys_user?sysparm_limit=1"')
    .optional(),
  expiryWarningDays: z.array(z.number()).optional(),
});

const strings = (example: string) => z.array(z.string(`use a string, e.g. ${example}`)).default([]);
const OPERATOR_EXAMPLE = '"arn:aws:iam::123456789012:role/ServiceNowTokenOperator"';

/** The file's shape; the rules on what becomes props are the props schema's. */
export const deploymentConfigSchema = z.strictObject({
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'use letters, digits and dashes, e.g. "ServiceNowTokenRefresher"')
    .default('ServiceNowTokenRefresher'),
  account: z
    .string()
    .regex(/^\d{12}$/, 'use a 12-digit account ID, e.g. "123456789012"')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'use a region code, e.g. "eu-west-1"')
    .optional(),
  secretNamePrefix: z
    .string(`use a string, e.g. "${DEFAULT_SECRET_NAME_PREFIX}"`)
    .default(DEFAULT_SECRET_NAME_PREFIX),
  instances: z.array(instanceSchema),
  /** Hosts outside *.service-now.com that instances may use (custom domains); each one explicitly. */
  allowedHosts: z
    .array(
      z
        .string()
        .regex(/^[a-z0-9.-]+$/, 'use a host name only, e.g. "servicenow.acme.example"')
        .superRefine((host, ctx) => {
          const problem = allowedHostProblem(host);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
    )
    .default([]),
  alerts: z
    .strictObject({
      emails: strings('"integrations@example.com"'),
      deadManHours: wholeUnits('deadManPeriod', 'hours'),
      gracePeriodMinutes: wholeUnits('gracePeriod', 'minutes'),
      reminderHours: wholeUnits('reminderInterval', 'hours'),
      expiryWarningDays: z.array(z.number()).optional(),
      /** Encrypt the alert topic with a new customer managed key ($1 a month); see docs/cost.md. */
      createTopicKey: bool,
      /** Linked from every email and alarm; without it the emails carry the steps alone. */
      runbookUrl: z
        .string('use an http(s) address, e.g. "https://wiki.example.com/servicenow-token-runbook"')
        .optional(),
    })
    .prefault({}),
  /** What the graphs cost: both off by default; see docs/cost.md for what each gives and costs. */
  monitoring: z.strictObject({ dashboard: bool, perInstanceMetrics: bool }).prefault({}),
  schedules: z
    .strictObject({
      refreshMinutes: wholeUnits('refreshInterval', 'minutes'),
      probeMinutes: wholeUnits('probeInterval', 'minutes'),
      expiryWatchHourUtc: z
        .number()
        .int(`use a whole hour, e.g. ${DEFAULT_EXPIRY_WATCH_HOUR_UTC}`)
        .min(0, `use an hour from 0 to 23, e.g. ${DEFAULT_EXPIRY_WATCH_HOUR_UTC}`)
        .max(23, `use an hour from 0 to 23, e.g. ${DEFAULT_EXPIRY_WATCH_HOUR_UTC}`)
        .default(DEFAULT_EXPIRY_WATCH_HOUR_UTC),
    })
    .prefault({}),
  /** IAM role or user ARNs (wildcards in the name only) that may read and write the secrets: the operators running the CLI. */
  operatorPrincipalArns: strings(OPERATOR_EXAMPLE),
  /** Role or user ARNs of sync jobs that read the access tokens; everyone else is denied by the secrets' policy. */
  accessTokenReaderArns: strings(OPERATOR_EXAMPLE),
  kmsKeyArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[a-f0-9-]+$/,
      'use a KMS key ARN, e.g. "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
    )
    .optional(),
  /** Applied to every resource of the stack (the construct's `secretTags` rule: same keys and values). */
  tags: tagsSchema.default({}),
});

export type DeploymentConfig = z.output<typeof deploymentConfigSchema>;
export type InstanceDeploymentConfig = DeploymentConfig['instances'][number];

/**
 * The construct's props a configuration stands for; the stack adds the key the file names
 * (`kmsKeyArn`), which needs a scope.
 */
export function refresherPropsFromConfig(config: DeploymentConfig): ServiceNowTokenRefresherProps {
  return {
    instances: config.instances.map((i) => ({
      name: i.name,
      url: i.url,
      probePath: i.probePath,
      expiryWarningDays: i.expiryWarningDays,
      grant: i.grant,
      refreshTokenLifespan: Duration.days(i.refreshTokenLifespanDays),
      accessTokenLifespan:
        i.accessTokenLifespanSeconds === undefined
          ? undefined
          : Duration.seconds(i.accessTokenLifespanSeconds),
    })),
    secretNamePrefix: config.secretNamePrefix,
    operatorPrincipalArns: config.operatorPrincipalArns,
    accessTokenReaderArns: config.accessTokenReaderArns,
    createAlertTopicKey: config.alerts.createTopicKey,
    dashboard: config.monitoring.dashboard,
    perInstanceMetrics: config.monitoring.perInstanceMetrics,
    alertEmails: config.alerts.emails,
    refreshInterval: Duration.minutes(config.schedules.refreshMinutes),
    probeInterval: Duration.minutes(config.schedules.probeMinutes),
    expiryWatchSchedule: events.Schedule.cron({
      minute: '0',
      hour: String(config.schedules.expiryWatchHourUtc),
    }),
    deadManPeriod: Duration.hours(config.alerts.deadManHours),
    gracePeriod: Duration.minutes(config.alerts.gracePeriodMinutes),
    reminderInterval: Duration.hours(config.alerts.reminderHours),
    expiryWarningDays: config.alerts.expiryWarningDays,
    runbookUrl: config.alerts.runbookUrl,
  };
}

/**
 * Where each prop that `refresherPropsFromConfig` sets comes from in the file, and the unit of a
 * number that becomes a Duration: a props problem is reported at the file's field, in its unit.
 */
const FILE_FIELD: Partial<Record<keyof ServiceNowTokenRefresherProps, { path: string[]; unit?: TimeUnit }>> =
  {
    alertEmails: { path: ['alerts', 'emails'] },
    createAlertTopicKey: { path: ['alerts', 'createTopicKey'] },
    dashboard: { path: ['monitoring', 'dashboard'] },
    perInstanceMetrics: { path: ['monitoring', 'perInstanceMetrics'] },
    refreshInterval: { path: ['schedules', 'refreshMinutes'], unit: 'minutes' },
    probeInterval: { path: ['schedules', 'probeMinutes'], unit: 'minutes' },
    deadManPeriod: { path: ['alerts', 'deadManHours'], unit: 'hours' },
    gracePeriod: { path: ['alerts', 'gracePeriodMinutes'], unit: 'minutes' },
    reminderInterval: { path: ['alerts', 'reminderHours'], unit: 'hours' },
    expiryWarningDays: { path: ['alerts', 'expiryWarningDays'] },
    runbookUrl: { path: ['alerts', 'runbookUrl'] },
  };
const INSTANCE_FILE_FIELD: Record<string, { key: string; unit: TimeUnit }> = {
  refreshTokenLifespan: { key: 'refreshTokenLifespanDays', unit: 'days' },
  accessTokenLifespan: { key: 'accessTokenLifespanSeconds', unit: 'seconds' },
};

/** A problem the props schema found, said at the file's field and in the file's unit. */
function inFileTerms(issue: z.core.$ZodIssue): string {
  const [prop, index, key, ...rest] = issue.path;
  let path: PropertyKey[] = [...issue.path];
  let unit: TimeUnit | undefined;
  if (prop === 'instances' && typeof key === 'string' && INSTANCE_FILE_FIELD[key]) {
    const field = INSTANCE_FILE_FIELD[key];
    path = ['instances', index as number, field.key, ...rest];
    unit = field.unit;
  } else {
    const field = FILE_FIELD[prop as keyof ServiceNowTokenRefresherProps];
    if (field) {
      path = [...field.path, ...issue.path.slice(1)];
      unit = field.unit;
    }
  }
  const rule = brokenDurationRule(issue);
  const message = rule && unit ? durationRuleText(DURATION_RULES[rule], unit) : issueMessage(issue);
  return `${fieldPath(path) || '(top level)'}: ${message}`;
}

/** What the file has beyond the props: its hosts, its declared lifespans, its account and region. */
function fileProblems(config: DeploymentConfig): string[] {
  const problems: string[] = [];
  const allowed = new Set(config.allowedHosts);
  config.instances.forEach((instance, index) => {
    const problem = urlProblem(instance.url, allowed);
    if (problem) problems.push(`instances[${index}].url: ${problem}`);
    // Unset, the instance is taken to issue ServiceNow's default lifespan.
    const lifespan = instance.accessTokenLifespanSeconds ?? ACCESS_TOKEN_LIFESPAN_SECONDS.serviceNowDefault;
    if (!Number.isInteger(lifespan)) return;
    if (config.alerts.deadManHours * 3600 < 2 * lifespan) {
      problems.push(
        `alerts.deadManHours: must cover at least two access-token lifespans (instances[${index}] "${instance.name}" lives ${lifespan} s, so refreshes may be that far apart), e.g. ${Math.ceil((2 * lifespan) / 3600)}`,
      );
    }
  });
  return [...problems, ...accountAndRegionProblems(config)];
}

/** The key and the operators must be of the stack's account and region, when the file names them. */
function accountAndRegionProblems(config: DeploymentConfig): string[] {
  const problems: string[] = [];
  const stack = { account: config.account, region: config.region };
  const key = config.kmsKeyArn ? parseKmsKeyArn(config.kmsKeyArn) : undefined;
  if (key) {
    const example = `"arn:${key.partition}:kms:${config.region ?? key.region}:${config.account ?? key.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"`;
    const problem = foreignArnProblem('the key', key, stack, example);
    if (problem) problems.push(`kmsKeyArn: ${problem}`);
  }
  config.operatorPrincipalArns.forEach((arn, index) => {
    const principal = parsePrincipalArn(arn);
    if (!principal) return;
    const example = `"arn:${principal.partition}:iam::${config.account ?? principal.account}:role/ServiceNowTokenOperator"`;
    const problem = foreignArnProblem(`operator "${arn}"`, principal, stack, example);
    if (problem) problems.push(`operatorPrincipalArns[${index}]: ${problem}`);
  });
  return problems;
}

/**
 * Stricter than the construct, which also takes http on loopback for rehearsals: a deployed file
 * names https instances on ServiceNow's hosts, or on hosts it lists. A URL the construct refuses
 * is the props schema's to report.
 */
function urlProblem(raw: string, allowedHosts: ReadonlySet<string>): string | undefined {
  let url: URL;
  try {
    url = parseInstanceUrl(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:') {
    return 'must use https (tokens are never sent in clear text), e.g. "https://acme.service-now.com"';
  }
  if (url.port) {
    return 'must be the instance address only, without a port, e.g. "https://acme.service-now.com"';
  }
  if (!SERVICENOW_HOST.test(url.hostname) && !allowedHosts.has(url.hostname)) {
    return `host "${url.hostname}" is outside *.service-now.com; add it to allowedHosts if it really is your instance, e.g. "allowedHosts": ["${url.hostname}"]`;
  }
  return undefined;
}

/** A configuration that cannot be deployed: the message names the file, the field and an allowed example. */
export class DeploymentConfigError extends Error {
  override readonly name = 'DeploymentConfigError';
}

/** A problem with the file's shape, made actionable where zod's own wording is not. */
function shapeProblem(issue: z.core.$ZodIssue): string {
  const field = fieldPath(issue.path) || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${field}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against config/example.json`;
  }
  if (issue.code === 'invalid_key') return `${field}: ${issueMessage(issue)}`;
  if (issue.code === 'invalid_type') {
    return `${field}: ${issue.message}; see config/example.json for an example`;
  }
  return `${field}: ${issue.message}`;
}

export function parseDeploymentConfig(json: unknown, source: string): DeploymentConfig {
  const parsed = deploymentConfigSchema.safeParse(json);
  if (!parsed.success) return fail(source, parsed.error.issues.map(shapeProblem));
  const config = parsed.data;
  const props = refresherPropsSchema.safeParse(refresherPropsFromConfig(config));
  const problems = [...(props.success ? [] : props.error.issues.map(inFileTerms)), ...fileProblems(config)];
  return problems.length > 0 ? fail(source, problems) : config;
}

function fail(source: string, problems: readonly string[]): never {
  throw new DeploymentConfigError(
    `The deployment configuration ${source} is invalid, so nothing was synthesized:\n  - ${problems.join('\n  - ')}`,
  );
}

export function loadDeploymentConfig(path: string): DeploymentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return fail(path, [
      `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); copy config/example.json and point the "config" context in cdk.json (or -c config=...) at it`,
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(path, [
      `is not valid JSON (${(error as Error).message}); see config/example.json for an example`,
    ]);
  }
  return parseDeploymentConfig(json, path);
}
