import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  allowedHostProblem,
  foreignArnProblem,
  operatorArnProblem,
  parseKmsKeyArn,
  parsePrincipalArn,
} from './security-checks';

/**
 * The grants the credentials secret can hold (lambda/shared/secrets/credentials-secret.ts): a
 * password grant once then refresh tokens, or client credentials / a JWT bearer on every refresh.
 */
export const SUPPORTED_GRANTS = ['password', 'client_credentials', 'jwt_bearer'] as const;

/** The hosts ServiceNow serves instances from; any other must be listed in allowedHosts. */
export const SERVICENOW_HOST = /^[a-z0-9][a-z0-9-]*\.service-now\.com$/;
const DEFAULT_WARNING_DAYS = [30, 14, 7, 3, 1];

const warningDays = z
  .array(
    z
      .number()
      .int()
      .min(1, 'use whole days of 1 or more')
      .max(365, 'warn at most 365 days ahead, e.g. [30, 14, 7, 3, 1]'),
  )
  .min(1, 'list at least one day, e.g. [30, 14, 7, 3, 1]')
  .max(10, 'list at most 10 days, e.g. [30, 14, 7, 3, 1]')
  .refine((days) => new Set(days).size === days.length, {
    message: 'list each day once, e.g. [30, 14, 7, 3, 1]',
  });

const instanceSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lower-case letters, digits and dashes, e.g. "acme-prod"'),
  url: z.string(),
  grant: z
    .enum(SUPPORTED_GRANTS, { message: `use one of ${SUPPORTED_GRANTS.join(', ')}, e.g. "password"` })
    .default('password'),
  refreshTokenLifespanDays: z
    .number()
    .int()
    .min(1, "use whole days, e.g. 100 (ServiceNow's default)")
    .max(3650, 'use at most 3650 days, e.g. 100')
    .default(100),
  accessTokenLifespanSeconds: z
    .number()
    .int()
    .min(300, "use at least 300 seconds, e.g. 1800 (ServiceNow's default)")
    .max(86_400, 'use at most 86400 seconds, e.g. 7200')
    .default(1800),
  probePath: z
    .string()
    .regex(/^\/api\//, 'use a REST API path on the instance, e.g. "/api/now/table/sys_user?sysparm_limit=1"')
    .optional(),
  expiryWarningDays: warningDays.optional(),
});

/** Role or user ARNs that the secrets' policies name (lib/security-checks.ts says what is refused). */
const principalArns = () =>
  z
    .array(
      z.string().superRefine((arn, ctx) => {
        const problem = operatorArnProblem(arn);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    )
    .default([]);

const durationMinutes = (example: number, max: number) =>
  z
    .number()
    .int(`use whole minutes, e.g. ${example}`)
    .min(1, `use 1 minute or more, e.g. ${example}`)
    .max(max, `use at most ${max} minutes, e.g. ${example}`);

export const deploymentConfigSchema = z
  .strictObject({
    stackName: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
        'use letters, digits and dashes, e.g. "ServiceNowTokenRefresher"',
      )
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
      .string()
      .regex(
        /^[A-Za-z0-9_+=.@-]+\/$/,
        'use letters, digits or _+=.@- and end with "/", e.g. "servicenow-token/"',
      )
      .default('servicenow-token/'),
    instances: z
      .array(instanceSchema)
      .min(1, 'list at least one instance, e.g. [{"name": "acme", "url": "https://acme.service-now.com"}]'),
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
        emails: z
          .array(z.email('use an email address, e.g. "integrations@example.com"'))
          .refine((emails) => new Set(emails.map((e) => e.toLowerCase())).size === emails.length, {
            message: 'list each address once, e.g. ["integrations@example.com"]',
          })
          .default([]),
        deadManHours: z
          .number()
          .int('use whole hours, e.g. 2')
          .min(1, 'use 1 hour or more, e.g. 2')
          .max(24, 'use at most 24 hours, e.g. 2')
          .default(2),
        gracePeriodMinutes: durationMinutes(15, 24 * 60).default(15),
        reminderHours: z
          .number()
          .int('use whole hours, e.g. 24')
          .min(1, 'use 1 hour or more, e.g. 24')
          .max(24 * 30, 'use at most 720 hours (30 days), e.g. 24')
          .default(24),
        expiryWarningDays: warningDays.default(DEFAULT_WARNING_DAYS),
        /** Encrypt the alert topic with a new customer managed key ($1 a month); see docs/cost.md. */
        createTopicKey: z.boolean('use true or false, e.g. false').default(false),
        /** Linked from every email and alarm; without it the emails carry the steps alone. */
        runbookUrl: z
          .url({
            protocol: /^https?$/,
            error: 'use an http(s) address, e.g. "https://wiki.example.com/servicenow-token-runbook"',
          })
          .optional(),
      })
      .prefault({}),
    /** What the graphs cost: both off by default; see docs/cost.md for what each gives and costs. */
    monitoring: z
      .strictObject({
        dashboard: z.boolean('use true or false, e.g. false').default(false),
        perInstanceMetrics: z.boolean('use true or false, e.g. false').default(false),
      })
      .prefault({}),
    schedules: z
      .strictObject({
        refreshMinutes: durationMinutes(1, 15).default(1),
        probeMinutes: durationMinutes(5, 60).default(5),
        expiryWatchHourUtc: z
          .number()
          .int('use a whole hour, e.g. 8')
          .min(0, 'use an hour from 0 to 23, e.g. 8')
          .max(23, 'use an hour from 0 to 23, e.g. 8')
          .default(8),
      })
      .prefault({}),
    /** IAM role or user ARNs (wildcards in the name only) that may read and write the secrets: the operators running the CLI. */
    operatorPrincipalArns: principalArns(),
    /** Role or user ARNs of sync jobs that read the access tokens; everyone else is denied by the secrets' policy. */
    accessTokenReaderArns: principalArns(),
    kmsKeyArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[a-f0-9-]+$/,
        'use a KMS key ARN, e.g. "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
      )
      .optional(),
    tags: z
      .record(
        z
          .string()
          .regex(/^[\p{L}\p{N}\s_.:/=+@-]{1,128}$/u, 'use a tag key of up to 128 characters, e.g. "team"')
          .refine((key) => !key.toLowerCase().startsWith('aws:'), {
            message: 'keys starting with "aws:" are reserved for AWS; use your own, e.g. "team"',
          }),
        z.string().max(256, 'use a tag value of up to 256 characters, e.g. "integrations"'),
      )
      .default({}),
  })
  .superRefine((config, ctx) => {
    checkAccountAndRegion(config, ctx);
    const allowed = new Set(config.allowedHosts);
    const seen = new Set<string>();
    config.instances.forEach((instance, index) => {
      const path = ['instances', index];
      if (seen.has(instance.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'name'],
          message: `"${instance.name}" is listed twice; give each instance its own name, e.g. "acme-dev"`,
        });
      }
      seen.add(instance.name);
      const problem = urlProblem(instance.url, allowed);
      if (problem) ctx.addIssue({ code: 'custom', path: [...path, 'url'], message: problem });
      const deadManSeconds = config.alerts.deadManHours * 3600;
      if (deadManSeconds < 2 * instance.accessTokenLifespanSeconds) {
        ctx.addIssue({
          code: 'custom',
          path: ['alerts', 'deadManHours'],
          message: `must cover at least two access-token lifespans (instances[${index}] "${instance.name}" lives ${instance.accessTokenLifespanSeconds} s, so refreshes may be that far apart), e.g. ${Math.ceil((2 * instance.accessTokenLifespanSeconds) / 3600)}`,
        });
      }
    });
  });

/** The key and the operators must be of the stack's account and region, when the file names them. */
function checkAccountAndRegion(
  config: {
    readonly account?: string | undefined;
    readonly region?: string | undefined;
    readonly kmsKeyArn?: string | undefined;
    readonly operatorPrincipalArns: readonly string[];
  },
  ctx: z.RefinementCtx,
): void {
  const stack = { account: config.account, region: config.region };
  const key = config.kmsKeyArn ? parseKmsKeyArn(config.kmsKeyArn) : undefined;
  if (key) {
    const example = `"arn:${key.partition}:kms:${config.region ?? key.region}:${config.account ?? key.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"`;
    const problem = foreignArnProblem('the key', key, stack, example);
    if (problem) ctx.addIssue({ code: 'custom', path: ['kmsKeyArn'], message: problem });
  }
  config.operatorPrincipalArns.forEach((arn, index) => {
    const principal = parsePrincipalArn(arn);
    if (!principal) return;
    const example = `"arn:${principal.partition}:iam::${config.account ?? principal.account}:role/ServiceNowTokenOperator"`;
    const problem = foreignArnProblem(`operator "${arn}"`, principal, stack, example);
    if (problem) ctx.addIssue({ code: 'custom', path: ['operatorPrincipalArns', index], message: problem });
  });
}

function urlProblem(raw: string, allowedHosts: ReadonlySet<string>): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL; use the instance address, e.g. "https://acme.service-now.com"';
  }
  if (url.protocol !== 'https:') {
    return 'must use https (tokens are never sent in clear text), e.g. "https://acme.service-now.com"';
  }
  if (url.username || url.password || url.port || url.pathname !== '/' || url.search || url.hash) {
    return 'must be the instance address only, without credentials, port or path, e.g. "https://acme.service-now.com"';
  }
  if (!SERVICENOW_HOST.test(url.hostname) && !allowedHosts.has(url.hostname)) {
    return `host "${url.hostname}" is outside *.service-now.com; add it to allowedHosts if it really is your instance, e.g. "allowedHosts": ["${url.hostname}"]`;
  }
  return undefined;
}

export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;
export type InstanceDeploymentConfig = DeploymentConfig['instances'][number];

/** A configuration that cannot be deployed: the message names the file, the field and an allowed example. */
export class DeploymentConfigError extends Error {
  override readonly name = 'DeploymentConfigError';
}

/** `instances.2.url` -> `instances[2].url` */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );
}

export function parseDeploymentConfig(json: unknown, source: string): DeploymentConfig {
  const parsed = deploymentConfigSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = fieldPath(issue.path) || '(top level)';
    // zod's own wording for unknown keys and wrong types, made actionable.
    if (issue.code === 'unrecognized_keys') {
      return `${field}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against config/example.json`;
    }
    if (issue.code === 'invalid_key') {
      // A record's key: zod nests the key's own issues; theirs say what to use.
      return `${field}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
    }
    if (issue.code === 'invalid_type') {
      return `${field}: ${issue.message}; see config/example.json for an example`;
    }
    return `${field}: ${issue.message}`;
  });
  return fail(source, problems);
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
