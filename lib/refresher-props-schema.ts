import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { z } from 'zod';
import {
  ACCESS_TOKEN_LIFESPAN_SECONDS,
  DEFAULT_EXPIRY_WARNING_DAYS,
  DEFAULT_SCHEDULE,
  EXPIRY_WARNING_DAYS_LIMITS,
  INSTANCE_NAME_PATTERN,
  INSTANCE_NAME_RULE,
  PROBE_PATH_PATTERN,
  PROBE_PATH_RULE,
} from '../lambda/shared/deployment-contract';
import {
  DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS,
  MAX_REFRESH_TOKEN_LIFESPAN_SECONDS,
} from '../lambda/shared/secrets/credentials-secret';
import { parseInstanceUrl } from '../lambda/shared/servicenow/instance-url';
import { operatorArnProblem } from './security-checks';
import { ServiceNowGrant, SUPPORTED_GRANTS } from './servicenow-grant';
import type { ServiceNowTokenRefresherProps } from './servicenow-token-refresher';

/**
 * The one validator of the construct's props: the construct parses its props with it at synth, and
 * the deployment configuration file (lib/deployment-config.ts) maps its JSON onto props and parses
 * them with it too, so the two can never accept different things. Every message names what to use
 * and gives an example that is valid in TypeScript and in the JSON file alike; durations are the
 * exception, spelt per surface by `durationRuleText`.
 */

export type TimeUnit = 'seconds' | 'minutes' | 'hours' | 'days';

/** A Duration prop: whole `unit`s, from `min` to `max` (in `unit`), and its default. */
export interface DurationRule {
  readonly unit: TimeUnit;
  readonly min: number;
  readonly max: number;
  readonly default: Duration;
}

const SECONDS_PER: Record<TimeUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86_400 };

export const DURATION_RULES = {
  /**
   * EventBridge rates are whole minutes. Past 15, ServiceNow's default 30-minute tokens no longer
   * outlive two refresh-aheads and a schedule interval (minimumAccessTokenLifespanSeconds).
   */
  refreshInterval: {
    unit: 'minutes',
    min: 1,
    max: 15,
    default: Duration.seconds(DEFAULT_SCHEDULE.intervalSeconds),
  },
  probeInterval: { unit: 'minutes', min: 1, max: 60, default: Duration.minutes(5) },
  /** An alarm period: whole minutes, at most a day. */
  deadManPeriod: { unit: 'minutes', min: 1, max: 24 * 60, default: Duration.hours(2) },
  refreshAhead: {
    unit: 'seconds',
    min: 1,
    max: 3600,
    default: Duration.seconds(DEFAULT_SCHEDULE.refreshAheadSeconds),
  },
  gracePeriod: { unit: 'minutes', min: 1, max: 24 * 60, default: Duration.minutes(15) },
  reminderInterval: { unit: 'minutes', min: 60, max: 30 * 24 * 60, default: Duration.hours(24) },
  /** The bounds the functions accept (deployment-contract.ts); the default is the functions' own cap. */
  accessTokenLifespan: {
    unit: 'seconds',
    min: ACCESS_TOKEN_LIFESPAN_SECONDS.min,
    max: ACCESS_TOKEN_LIFESPAN_SECONDS.max,
    default: Duration.seconds(ACCESS_TOKEN_LIFESPAN_SECONDS.max),
  },
  /** As the credentials secret accepts it: at most 10 years. */
  refreshTokenLifespan: {
    unit: 'days',
    min: 1,
    max: MAX_REFRESH_TOKEN_LIFESPAN_SECONDS / SECONDS_PER.days,
    default: Duration.seconds(DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS),
  },
} as const satisfies Record<string, DurationRule>;

export type DurationProp = keyof typeof DURATION_RULES;

/** The largest unit a whole number of seconds is a whole number of. */
function wholeUnit(seconds: number): TimeUnit {
  return (['days', 'hours', 'minutes'] as const).find((u) => seconds % SECONDS_PER[u] === 0) ?? 'seconds';
}

/** "2 hours", "1 minute" */
function humanDuration(seconds: number): string {
  const unit = wholeUnit(seconds);
  const amount = seconds / SECONDS_PER[unit];
  return `${amount} ${amount === 1 ? unit.slice(0, -1) : unit}`;
}

/**
 * What a duration rule asks for. As a prop: "use whole minutes from 1 minute to 1 day, e.g.
 * Duration.hours(2)"; in a file field that counts `fileUnit`s: "use whole hours from 1 to 24, e.g. 2".
 */
export function durationRuleText(rule: DurationRule, fileUnit?: TimeUnit): string {
  const seconds = (amount: number) => amount * SECONDS_PER[rule.unit];
  const example = rule.default.toSeconds();
  if (fileUnit) {
    const per = SECONDS_PER[fileUnit];
    return `use whole ${fileUnit} from ${Math.ceil(seconds(rule.min) / per)} to ${Math.floor(seconds(rule.max) / per)}, e.g. ${example / per}`;
  }
  const unit = wholeUnit(example);
  return `use whole ${rule.unit} from ${humanDuration(seconds(rule.min))} to ${humanDuration(seconds(rule.max))}, e.g. Duration.${unit}(${example / SECONDS_PER[unit]})`;
}

/** Not a Duration's instance check: an app may hold another copy of aws-cdk-lib than ours. */
function isDuration(value: unknown): value is Duration {
  const candidate = value as Partial<Duration> | undefined;
  return typeof candidate?.toMilliseconds === 'function' && typeof candidate.isUnresolved === 'function';
}

/** A Duration prop, checked against its rule and defaulted by it. */
function duration(prop: DurationProp) {
  return optionalDuration(prop).default(DURATION_RULES[prop].default);
}

/** A Duration prop checked against its rule; the issue carries the rule's name for the file's wording. */
function optionalDuration(prop: DurationProp) {
  const rule: DurationRule = DURATION_RULES[prop];
  return z
    .custom<Duration>(isDuration, { message: durationRuleText(rule), params: { duration: prop } })
    .superRefine((value, ctx) => {
      if (value.isUnresolved()) return;
      const amount = value.toMilliseconds({ integral: false }) / 1000 / SECONDS_PER[rule.unit];
      if (!Number.isInteger(amount) || amount < rule.min || amount > rule.max) {
        ctx.addIssue({ code: 'custom', message: durationRuleText(rule), params: { duration: prop } });
      }
    });
}

/** A string rule that a CDK token (known only at deploy time) skips; `schema` also says what a non-string should be. */
function unlessToken(schema: z.ZodType<string>) {
  return z.custom<string>().superRefine((value, ctx) => {
    if (typeof value === 'string' && Token.isUnresolved(value)) return;
    const parsed = schema.safeParse(value);
    if (parsed.success) return;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    }
  });
}

const EXAMPLE_DAYS = `[${DEFAULT_EXPIRY_WARNING_DAYS.join(', ')}]`;

/** Days before the refresh token's end at which to warn. */
export const expiryWarningDaysSchema = z
  .array(
    z
      .number(`use whole days, e.g. ${EXAMPLE_DAYS}`)
      .int(`use whole days, e.g. ${EXAMPLE_DAYS}`)
      .min(1, `use whole days of 1 or more, e.g. ${EXAMPLE_DAYS}`)
      .max(
        EXPIRY_WARNING_DAYS_LIMITS.maxDay,
        `warn at most ${EXPIRY_WARNING_DAYS_LIMITS.maxDay} days ahead, e.g. ${EXAMPLE_DAYS}`,
      ),
    `list whole days, e.g. ${EXAMPLE_DAYS}`,
  )
  .min(1, `list at least one day, e.g. ${EXAMPLE_DAYS}`)
  .max(
    EXPIRY_WARNING_DAYS_LIMITS.maxCount,
    `list at most ${EXPIRY_WARNING_DAYS_LIMITS.maxCount} days, e.g. ${EXAMPLE_DAYS}`,
  )
  .refine((days) => new Set(days).size === days.length, {
    message: `list each day once, e.g. ${EXAMPLE_DAYS}`,
  });

/** Tags: keys and values as AWS accepts them, none of AWS's own. */
export const tagsSchema = z.record(
  z
    .string()
    .regex(/^[\p{L}\p{N}\s_.:/=+@-]{1,128}$/u, 'use a tag key of up to 128 characters, e.g. "team"')
    .refine((key) => !key.toLowerCase().startsWith('aws:'), {
      message: 'keys starting with "aws:" are reserved for AWS; use your own, e.g. "team"',
    }),
  z.string().max(256, 'use a tag value of up to 256 characters, e.g. "integrations"'),
  'use an object of tag keys and values, e.g. {"team": "integrations"}',
);

const OPERATOR_EXAMPLE = '"arn:aws:iam::123456789012:role/ServiceNowTokenOperator"';

/** Role or user ARNs that the secrets' policies name (lib/security-checks.ts says what is refused). */
const principalArns = z.array(
  unlessToken(
    z.string(`use a role or user ARN, e.g. ${OPERATOR_EXAMPLE}`).superRefine((arn, ctx) => {
      const problem = operatorArnProblem(arn);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  ),
  `list role or user ARNs, e.g. [${OPERATOR_EXAMPLE}]`,
);

const GRANT_RULE = `use one of ${SUPPORTED_GRANTS.join(', ')}, e.g. "${ServiceNowGrant.PASSWORD}" (ServiceNowGrant.PASSWORD)`;

const instanceSchema = z.object(
  {
    name: z.string(INSTANCE_NAME_RULE).regex(INSTANCE_NAME_PATTERN, INSTANCE_NAME_RULE),
    url: z.string('use the instance address, e.g. "https://acme.service-now.com"').superRefine((url, ctx) => {
      try {
        parseInstanceUrl(url);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
    probePath: z.string(PROBE_PATH_RULE).regex(PROBE_PATH_PATTERN, PROBE_PATH_RULE).optional(),
    expiryWarningDays: expiryWarningDaysSchema.optional(),
    grant: z.enum(ServiceNowGrant, GRANT_RULE).default(ServiceNowGrant.PASSWORD),
    refreshTokenLifespan: duration('refreshTokenLifespan'),
    // Unset, the functions apply their own cap (the rule's default): instances.json stays as it was.
    accessTokenLifespan: optionalDuration('accessTokenLifespan').optional(),
  },
  'describe the instance, e.g. {"name": "acme", "url": "https://acme.service-now.com"}',
);

const bool = (example: boolean) => z.boolean(`use true or false, e.g. ${example}`);
/** A construct or other object of the app: TypeScript checks its type, there is no rule to add. */
const appObject = <T>() => z.custom<T>().optional();

export const DEFAULT_SECRET_NAME_PREFIX = 'servicenow-token/';
/** The expiry watch runs daily at this hour (UTC). */
export const DEFAULT_EXPIRY_WATCH_HOUR_UTC = 8;
const SECRET_NAME_PREFIX_RULE = `use letters, digits or _+=.@- in segments that each end with "/", e.g. "${DEFAULT_SECRET_NAME_PREFIX}"`;

const DEPLOYMENT_ROLE_RULE =
  'use the role ARN CloudFormation deploys with, e.g. "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1"';

/** Every prop of ServiceNowTokenRefresherProps, with its rule and its default. */
const propsShape = {
  instances: z
    .array(
      instanceSchema,
      'list the instances, e.g. [{"name": "acme", "url": "https://acme.service-now.com"}]',
    )
    .min(1, 'list at least one instance, e.g. [{"name": "acme", "url": "https://acme.service-now.com"}]')
    .superRefine((instances, ctx) => {
      const seen = new Set<string>();
      instances.forEach((instance, index) => {
        if (seen.has(instance.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `"${instance.name}" is listed twice; give each instance its own name, e.g. "${instance.name}-dev"`,
          });
        }
        seen.add(instance.name);
      });
    }),
  secretNamePrefix: z
    .string(SECRET_NAME_PREFIX_RULE)
    .regex(/^([A-Za-z0-9_+=.@-]+\/)+$/, SECRET_NAME_PREFIX_RULE)
    .default(DEFAULT_SECRET_NAME_PREFIX),
  operatorPrincipalArns: principalArns.default([]),
  deploymentRoleArn: unlessToken(
    z.string(DEPLOYMENT_ROLE_RULE).regex(/^arn:[a-z-]+:iam::\d{12}:role\/\S+$/, DEPLOYMENT_ROLE_RULE),
  ).optional(),
  accessTokenReaderArns: principalArns.default([]),
  encryptionKey: appObject<kms.IKey>(),
  createAlertTopicKey: bool(false).default(false),
  dashboard: bool(false).default(false),
  perInstanceMetrics: bool(false).default(false),
  alertTopic: appObject<sns.ITopic>(),
  alertEmails: z
    .array(
      unlessToken(z.email('use an email address, e.g. "integrations@example.com"')),
      'list email addresses, e.g. ["integrations@example.com"]',
    )
    .refine((emails) => new Set(emails.map((e) => e.toLowerCase())).size === emails.length, {
      message: 'list each address once, e.g. ["integrations@example.com"]',
    })
    .default([]),
  eventBus: appObject<events.IEventBus>(),
  refreshInterval: duration('refreshInterval'),
  probeInterval: duration('probeInterval'),
  expiryWatchSchedule: z
    .custom<events.Schedule>()
    .default(() => events.Schedule.cron({ minute: '0', hour: String(DEFAULT_EXPIRY_WATCH_HOUR_UTC) })),
  deadManPeriod: duration('deadManPeriod'),
  refreshAhead: duration('refreshAhead'),
  gracePeriod: duration('gracePeriod'),
  reminderInterval: duration('reminderInterval'),
  expiryWarningDays: expiryWarningDaysSchema.default([...DEFAULT_EXPIRY_WARNING_DAYS]),
  logRetention: z
    .enum(logs.RetentionDays, 'use a logs.RetentionDays member, e.g. logs.RetentionDays.THREE_MONTHS')
    .default(logs.RetentionDays.THREE_MONTHS),
  removalPolicy: z
    .enum(RemovalPolicy, 'use a RemovalPolicy member, e.g. RemovalPolicy.RETAIN')
    .default(RemovalPolicy.RETAIN),
  secretTags: tagsSchema.default({}),
  runbookUrl: unlessToken(
    z.url({
      protocol: /^https?$/,
      error: 'use an http(s) address, e.g. "https://wiki.example.com/servicenow-token-runbook"',
    }),
  ).optional(),
} satisfies Record<keyof ServiceNowTokenRefresherProps, z.ZodType>;

export const refresherPropsSchema = z.object(propsShape, 'pass the props object, e.g. { instances: [...] }');

/** The props as the construct uses them: checked, with every default filled in. */
export type RefresherSettings = z.output<typeof refresherPropsSchema>;

/** `['instances', 2, 'url']` -> `instances[2].url` */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );
}

/** What an issue asks for; a record key's own issues say it better than the record's. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_key' ? issue.issues.map((inner) => inner.message).join('; ') : issue.message;
}

/** The duration rule an issue broke, when it broke one. */
export function brokenDurationRule(issue: z.core.$ZodIssue): DurationProp | undefined {
  return issue.code === 'custom' ? (issue.params?.duration as DurationProp | undefined) : undefined;
}

/**
 * The props checked and completed with their defaults; invalid props throw at synth, every problem
 * on a line of its own that names the prop and an allowed example.
 */
export function parseRefresherProps(
  props: ServiceNowTokenRefresherProps,
  constructPath: string,
): RefresherSettings {
  const parsed = refresherPropsSchema.safeParse(props);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${fieldPath(issue.path) || '(props)'}: ${issueMessage(issue)}`,
  );
  throw new Error(
    `ServiceNowTokenRefresher ${constructPath}: invalid props, so nothing was synthesized:\n  - ${problems.join('\n  - ')}`,
  );
}
