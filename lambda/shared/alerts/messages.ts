import { consumerProfile } from '../consumers/consumer-profiles';
import type {
  AlertReason,
  IncidentKind,
  IncidentReasonOf,
  Notice,
  OutboxMessage,
  Severity,
} from './incident';

/** Which deployment an alert is about: the reader may run several (prod, staging, another account). */
export interface DeploymentFacts {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
}

export interface MessageContext {
  readonly instanceName: string;
  readonly instanceUrl: string;
  readonly now: number;
  /** When the condition was first seen. */
  readonly since: number;
  readonly detail?: string;
  readonly accessTokenExpiresAt?: number;
  readonly refreshTokenExpiresAt?: number;
  /** jwt_bearer: the signing certificate's end. */
  readonly certificateExpiresAt?: number;
  readonly accessTokenLifespanSeconds?: number;
  readonly scheduleIntervalSeconds?: number;
  /** For a token held by another tool (Exalate...): the tool's name, as given to --to. */
  readonly consumer?: string;
  /** That token's fixed end. */
  readonly consumerTokenExpiresAt?: number;
  /** That token's OAuth client, for the tool's paste steps. */
  readonly consumerClientId?: string;
  /** The operator CLI as ops type it in the deployment repository, e.g. "npx snow-token". */
  readonly cli: string;
  /** Where the runbook lives (section anchors are appended); none: the steps in the email are all there is. */
  readonly runbook?: string;
  readonly deployment: DeploymentFacts;
  /** The subject the incident was opened with: every later email of it keeps it, so mail clients thread them. */
  readonly incidentSubject?: string;
}

export interface Message {
  readonly subject: string;
  readonly body: string;
}

const DAY = 86_400_000;

export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}

export function daysLeft(expiresAt: number, now: number): number {
  return Math.floor((expiresAt - now) / DAY);
}

interface Text {
  /** The date that matters, when it is not when the condition was first seen: an expiry's moment. */
  readonly date?: { readonly label: 'Expires' | 'Expired'; readonly at: number };
  /** The subject's wording when the incident opens, if not `title` and since when. */
  readonly subject?: string;
  readonly what: string;
  readonly title: string;
  readonly impact: string;
  readonly fix: string;
  readonly anchor: string;
}

function syncJobImpact(ctx: MessageContext): string {
  if (ctx.accessTokenExpiresAt === undefined)
    return 'Sync jobs have no access token to use until this is fixed.';
  if (ctx.accessTokenExpiresAt <= ctx.now) {
    return `The stored access token expired at ${formatTime(ctx.accessTokenExpiresAt)}: sync jobs get 401 from ServiceNow until this is fixed.`;
  }
  return `The stored access token stays valid until ${formatTime(ctx.accessTokenExpiresAt)}; after that, sync jobs get 401 from ServiceNow until this is fixed.`;
}

/** The command as a person pastes it: in the deployment repository, naming the stack and region it acts on. */
export function command(ctx: Pick<MessageContext, 'cli' | 'deployment'>, args: string): string {
  return `${ctx.cli} ${args} --stack ${ctx.deployment.stackName} --region ${ctx.deployment.region}`;
}

/** "In the deployment repository ... run:" and the command on a line of its own; `lead` continues a sentence. */
function run(ctx: MessageContext, args: string, lead = 'In'): string {
  return `${lead} the deployment repository (where its cdk.json is), signed in to AWS account ${ctx.deployment.account}, run:\n\n    ${command(ctx, args)}`;
}

function renewFix(ctx: MessageContext): string {
  return `${run(ctx, `renew ${ctx.instanceName}`)}\n\nIt asks for the integration user's password (never stored) and starts a new refresh token.`;
}

/** An open incident's words, for its reason. */
type Words = (reason: AlertReason, ctx: MessageContext) => Text;

/**
 * A kind whose words depend on the reason: every reason of the kind has an entry. `otherwise` speaks
 * for an incident that recorded no reason this version knows.
 */
function byReason<K extends IncidentKind>(
  words: Readonly<Record<IncidentReasonOf<K>, Words>>,
  otherwise: Words,
): Words {
  return (reason, ctx) => ((words as Partial<Record<AlertReason, Words>>)[reason] ?? otherwise)(reason, ctx);
}

const refreshFailing: Words = (reason, ctx) => ({
  title: 'token refresh failing',
  what: `The refresher has not been able to get a new access token since ${formatTime(ctx.since)}. Last error: ${ctx.detail ?? reason}.`,
  impact: syncJobImpact(ctx),
  fix: `Usually nothing: the refresher keeps retrying and emails again when it recovers. If it lasts, check that ${ctx.instanceUrl} is up; ${run(ctx, `doctor ${ctx.instanceName}`, 'then, in')}`,
  anchor: 'token-refresh-failing',
});

const REFRESH_WORDS: Record<IncidentReasonOf<'refresh'>, Words> = {
  'refresh-token-expired': (_, ctx) => {
    const expires = ctx.refreshTokenExpiresAt;
    return {
      title: 'refresh token expired',
      what: `The refresh token expired${expires ? ` on ${formatTime(expires)}` : ''}, a fixed lifespan after the last password grant. ServiceNow never extends it, so the refresher can no longer get access tokens.`,
      impact: syncJobImpact(ctx),
      fix: renewFix(ctx),
      anchor: 'refresh-token-expired',
    };
  },
  'refresh-token-rejected': (_, ctx) => {
    const expires = ctx.refreshTokenExpiresAt;
    return {
      title: 'refresh token refused',
      what: `ServiceNow refused the refresh token${expires ? `, which should be valid until ${formatTime(expires)}` : ''}. It was revoked, or the client secret changed in the Application Registry. (ServiceNow gives the same answer for both; the instance's system log has the real reason.)`,
      impact: syncJobImpact(ctx),
      fix: `${renewFix(ctx)}\nIf the client secret changed, run "${command(ctx, `bootstrap ${ctx.instanceName} --new-client`)}" instead: it asks for the new one.`,
      anchor: 'refresh-token-refused',
    };
  },
  'invalid-credentials-secret': (_, ctx) => ({
    title: 'credentials secret is not valid',
    what: `The credentials secret cannot be read: ${ctx.detail ?? 'it does not match the expected layout'}. It was left exactly as it is.`,
    impact: syncJobImpact(ctx),
    fix: renewFix(ctx),
    anchor: 'credentials-secret-not-valid',
  }),
  'grant-rejected': (_, ctx) => ({
    title: 'ServiceNow refuses the grant',
    what: `ServiceNow refused to issue an access token: ${ctx.detail ?? 'the grant was refused'}. (ServiceNow gives the same answer for every cause; the instance's system log has the real one.)`,
    impact: syncJobImpact(ctx),
    fix: `Fix the cause in ServiceNow. ${run(ctx, `doctor ${ctx.instanceName}`, 'Then, to check, in')}\n\nIf the client secret or the key changed, store the new one with "${command(ctx, `bootstrap ${ctx.instanceName} --new-client`)}".`,
    anchor: 'grant-refused',
  }),
  'not-bootstrapped': (_, ctx) => ({
    title: 'no credentials stored yet',
    what: 'The instance is configured, but no credentials have been stored for it.',
    impact: 'Sync jobs have no access token until the instance is bootstrapped.',
    fix: `${run(ctx, `bootstrap ${ctx.instanceName}`)}\n\nIt asks for the OAuth client id and secret and the integration user's password (never stored).`,
    anchor: 'not-bootstrapped',
  }),
  'refresh-token-not-stored': refreshFailing,
  unauthorized: refreshFailing,
  forbidden: refreshFailing,
  malformed: refreshFailing,
};

const ACCESS_DENIED_WORDS: Record<IncidentReasonOf<'access-denied'>, Words> = {
  forbidden: (_, ctx) => ({
    title: 'ServiceNow denies the integration user (403)',
    what: `The probe got 403 from ServiceNow: the integration user lacks a role, or an ACL denies it. (${ctx.detail ?? 'forbidden'})`,
    impact: 'Sync jobs that read or write the same tables will fail with 403 too.',
    fix: `In ServiceNow, give the integration user the role snc_platform_rest_api_access (itil contains it) and check the ACLs of the tables your sync jobs use. ${run(ctx, `doctor ${ctx.instanceName}`, 'Then, to check, in')}`,
    anchor: 'access-denied-403',
  }),
  unauthorized: (_, ctx) => ({
    title: 'ServiceNow refuses valid access tokens (401)',
    what: `ServiceNow refused an access token that should be valid${ctx.accessTokenExpiresAt ? ` until ${formatTime(ctx.accessTokenExpiresAt)}` : ''}, and again after an immediate refresh. The integration user may be locked or inactive, or lack "Web service access".`,
    impact: 'Sync jobs get 401 from ServiceNow.',
    fix: `In ServiceNow, check that the integration user is active and not locked. ${run(ctx, `doctor ${ctx.instanceName}`, 'Then, to check, in')}`,
    anchor: 'access-token-refused-401',
  }),
};

const rateLimited: Words = (_, ctx) => ({
  title: 'rate limited by ServiceNow',
  what: `ServiceNow has been answering 429 (rate limit exceeded) since ${formatTime(ctx.since)}. ${ctx.detail ?? ''}`.trim(),
  impact: 'Sync jobs running as the same user are being throttled too (limits are per user per hour).',
  fix: 'In ServiceNow (System Web Services > REST API Rate Limiting), raise the rule that matches the integration user, or spread the sync jobs out.',
  anchor: 'rate-limited',
});

const notAnswering: Words = (reason, ctx) => ({
  title: 'instance not answering properly',
  what: `ServiceNow has not answered properly since ${formatTime(ctx.since)}: ${ctx.detail ?? reason}.`,
  impact: 'Sync jobs are likely failing the same way.',
  fix: `Check that ${ctx.instanceUrl} is reachable from AWS and answers its REST API. ${run(ctx, `doctor ${ctx.instanceName}`, 'Then, to check, in')}`,
  anchor: 'instance-unavailable',
});

const UNAVAILABLE_WORDS: Record<IncidentReasonOf<'unavailable'>, Words> = {
  hibernating: (_, ctx) => ({
    title: 'instance is hibernating',
    what: `${ctx.instanceUrl} answers with the "Your instance is hibernating" page (since ${formatTime(ctx.since)}). Developer instances sleep when idle.`,
    impact: 'Nothing reaches ServiceNow until it is woken: sync jobs fail, and tokens cannot be refreshed.',
    fix: 'Sign in at https://developer.servicenow.com and wake the instance. Developer instances unused for 10 days are reclaimed and wiped: keep it in use, or move the integration to a sub-production instance.',
    anchor: 'instance-hibernating',
  }),
  offline: (_, ctx) => ({
    title: 'instance is offline',
    what: `${ctx.instanceUrl} says "Your instance is currently offline" (since ${formatTime(ctx.since)}): it is waking up, or in maintenance.`,
    impact: 'Sync jobs fail until it is back.',
    fix: 'Usually nothing: wait for the instance to come back (this email is followed by one when it does). If it lasts, check the ServiceNow status or maintenance schedule for the instance.',
    anchor: 'instance-offline',
  }),
  html: notAnswering,
  redirect: notAnswering,
  'server-error': notAnswering,
  unavailable: notAnswering,
  timeout: notAnswering,
  'network-error': notAnswering,
  malformed: notAnswering,
};

/** "30 days", "1 day", "6 hours": whole days left, as the countdown's thresholds count them. */
function remaining(expires: number, now: number): string {
  const left = daysLeft(expires, now);
  if (left >= 1) return `${left} ${left === 1 ? 'day' : 'days'}`;
  const hours = Math.max(1, Math.floor((expires - now) / 3_600_000));
  return `${hours} ${hours === 1 ? 'hour' : 'hours'}`;
}

/** Where the fixed end of `thing` stands: passed or not, the time left in words, the email's date line, subject and title. */
function countdown(thing: string, expires: number, now: number) {
  const expired = expires <= now;
  const within = remaining(expires, now);
  const date: Text['date'] = { label: expired ? 'Expired' : 'Expires', at: expires };
  const subject = `${thing} expires ${formatTime(expires)}`;
  return {
    expired,
    within,
    date,
    subject,
    title: expired ? `${thing} expired` : `${thing} expires in ${within}`,
  };
}

function expiryText(ctx: MessageContext): Text {
  const expires = ctx.refreshTokenExpiresAt ?? ctx.now;
  const { expired, within, ...heading } = countdown('refresh token', expires, ctx.now);
  return {
    ...heading,
    what: expired
      ? `The refresh token expired on ${formatTime(expires)}. ServiceNow only renews it through a new password grant.`
      : `The refresh token expires in ${within}, on ${formatTime(expires)}: a fixed lifespan after the last password grant. Refreshing does not extend it.`,
    impact: expired
      ? syncJobImpact(ctx)
      : `Sync jobs keep working until then; after it, no new access tokens can be issued and sync jobs get 401.`,
    fix: renewFix(ctx),
    anchor: expired ? 'refresh-token-expired' : 'refresh-token-expiring',
  };
}

function certificateText(ctx: MessageContext): Text {
  const expires = ctx.certificateExpiresAt ?? ctx.now;
  const { expired, within, ...heading } = countdown('signing certificate', expires, ctx.now);
  return {
    ...heading,
    what: `The certificate that ServiceNow uses to verify this instance's JWT assertions ${expired ? 'expired on' : `expires in ${within}, on`} ${formatTime(expires)}. After that, ServiceNow refuses every new access token.`,
    impact: expired ? syncJobImpact(ctx) : 'Sync jobs keep working until then.',
    fix: `Make a new key and certificate and register it: ${run(ctx, `bootstrap ${ctx.instanceName} --grant jwt_bearer --new-client`, 'in')}\n\nIt prints the certificate and the ServiceNow steps, and waits until the new one works.`,
    anchor: 'certificate-expiring',
  };
}

function driftText(ctx: MessageContext): Text {
  return {
    title: 'access token lifespan too short',
    what: `ServiceNow issues access tokens that live ${ctx.accessTokenLifespanSeconds ?? '?'} s, too short for a refresher that runs every ${ctx.scheduleIntervalSeconds ?? '?'} s and refreshes 5 minutes ahead.`,
    impact:
      'Sync jobs may be handed tokens that expire mid-batch, and ServiceNow is called far more often than needed.',
    fix: 'In ServiceNow: System OAuth > Application Registry > (your client) > Access Token Lifespan: set 1800 s or more (Exalate suggests 7200).',
    anchor: 'access-token-lifespan-too-short',
  };
}

function consumerFix(ctx: MessageContext): string {
  const consumer = ctx.consumer ?? 'the tool';
  const profile = consumerProfile(consumer);
  return [
    run(ctx, `handoff ${ctx.instanceName} --to ${consumer}`),
    '',
    `It asks for the client secret and the integration user's password (never stored) and shows the new refresh token once. Then ${profile.label}'s admin pastes it:`,
    '',
    profile.pasteSteps({
      instanceUrl: ctx.instanceUrl,
      clientId: ctx.consumerClientId ?? 'the same client id as now',
    }),
    '',
    profile.connectionCheck,
  ].join('\n');
}

/** What a tool's token incidents say whatever the reason. */
function consumerFacts(ctx: MessageContext) {
  const label = consumerProfile(ctx.consumer ?? 'the tool').label;
  const expires = ctx.consumerTokenExpiresAt ?? ctx.now;
  const impact = `${label} stops synchronising with ServiceNow ${ctx.instanceName}, and raises its "no access is possible" flag.`;
  return { label, expires, impact };
}

const consumerRefused: Words = (_, ctx) => {
  const { label, expires, impact } = consumerFacts(ctx);
  return {
    title: `${label}'s refresh token for ${ctx.instanceName} was refused`,
    what: `ServiceNow refused ${label}'s refresh token in today's check, although it should be valid until ${formatTime(expires)}. It was revoked, the client secret changed, or the integration user was locked or deactivated. (ServiceNow gives the same answer for all; the instance's system log has the real reason.)`,
    impact: `${impact} It may already have.`,
    fix: consumerFix(ctx),
    anchor: 'consumer-token-refused',
  };
};

const CONSUMER_REFUSED_WORDS: Record<IncidentReasonOf<'consumer-token-refused'>, Words> = {
  refused: consumerRefused,
  rotated: (_, ctx) => {
    const { label, impact } = consumerFacts(ctx);
    return {
      title: `${label}'s refresh token for ${ctx.instanceName} was rotated by today's check`,
      what: `ServiceNow (or a proxy in front of it) answered today's check of ${label}'s refresh token with a new one, so the instance now rotates refresh tokens and the token ${label} holds may no longer work. The token is no longer checked.`,
      impact: `${impact} It may already have.`,
      fix: consumerFix(ctx),
      anchor: 'consumer-token-refused',
    };
  },
};

function consumerExpiryText(ctx: MessageContext): Text {
  const { label, expires, impact } = consumerFacts(ctx);
  const token = `${label}'s refresh token for ${ctx.instanceName}`;
  const { expired, within, date, subject } = countdown(token, expires, ctx.now);
  const day = formatTime(expires).slice(0, 10);
  return {
    date,
    subject,
    title: expired ? `${token} expired on ${day}` : `${token} expires in ${within}, on ${day}`,
    what: expired
      ? `The refresh token ${label} holds for ${ctx.instanceUrl} expired on ${formatTime(expires)}. ServiceNow only renews it through a new password grant.`
      : `The refresh token ${label} holds for ${ctx.instanceUrl} expires on ${formatTime(expires)}, a fixed lifespan after the password grant that issued it. ${label}'s own refreshes do not extend it.`,
    impact: expired
      ? impact
      : `${label} keeps synchronising until then; after it, it stops and raises its "no access is possible" flag.`,
    fix: consumerFix(ctx),
    anchor: 'consumer-token-expiring',
  };
}

/**
 * The words of each kind's emails while it is open: a kind cannot be added without them, and the
 * words of a kind that no longer exists do not compile.
 */
export const INCIDENT_TEXTS: Record<IncidentKind, Words> = {
  refresh: byReason<'refresh'>(REFRESH_WORDS, refreshFailing),
  'access-denied': byReason<'access-denied'>(ACCESS_DENIED_WORDS, ACCESS_DENIED_WORDS.unauthorized),
  unavailable: byReason<'unavailable'>(UNAVAILABLE_WORDS, notAnswering),
  'rate-limited': rateLimited,
  // Countdowns: the date is what matters, whatever the reason.
  'refresh-token-expiry': (_, ctx) => expiryText(ctx),
  'certificate-expiry': (_, ctx) => certificateText(ctx),
  'config-drift': (_, ctx) => driftText(ctx),
  'consumer-token-expiry': (_, ctx) => consumerExpiryText(ctx),
  'consumer-token-refused': byReason<'consumer-token-refused'>(CONSUMER_REFUSED_WORDS, consumerRefused),
};

/** The first line of each kind's recovery email. */
export const RESOLVED_TITLES: Record<IncidentKind, string> = {
  refresh: 'token refresh working again',
  'access-denied': 'access to ServiceNow restored',
  unavailable: 'instance answering again',
  'rate-limited': 'no longer rate limited',
  'refresh-token-expiry': 'refresh token renewed',
  'certificate-expiry': 'signing certificate replaced',
  'config-drift': 'access token lifespan fixed',
  'consumer-token-expiry': 'refresh token handed off anew',
  'consumer-token-refused': 'refresh token handed off anew',
};

/** SNS email subjects are at most 100 characters. */
const SUBJECT_MAX = 99;

/**
 * The subject an incident opens with and keeps to the end (reminders, escalations, recovery), so
 * mail clients thread them: the instance, what happened and when (the expiry date, or since when).
 */
export function incidentSubject(kind: IncidentKind, reason: AlertReason, ctx: MessageContext): string {
  const t = INCIDENT_TEXTS[kind](reason, ctx);
  // A tool's titles name the tool and the instance in their own words.
  const prefix =
    ctx.consumer === undefined ? `[ServiceNow token] ${ctx.instanceName}: ` : '[ServiceNow token] ';
  return `${prefix}${t.subject ?? `${t.title} since ${formatTime(ctx.since)}`}`.slice(0, SUBJECT_MAX);
}

function where(ctx: MessageContext): string[] {
  const { stackName, account, region } = ctx.deployment;
  return [
    `Instance:   ${ctx.instanceName} (${ctx.instanceUrl})`,
    `Deployment: stack ${stackName}, AWS account ${account}, region ${region}`,
  ];
}

function runbookLine(ctx: MessageContext, anchor: string): string[] {
  return ctx.runbook ? ['', `Runbook: ${ctx.runbook}#${anchor}`] : [];
}

const STATE: Record<Exclude<Notice, 'resolved'>, Record<Severity, string>> = {
  opened: { 'action-required': 'ACTION REQUIRED', warning: 'WARNING' },
  escalated: { 'action-required': 'ACTION REQUIRED', warning: 'WARNING' },
  reminder: { 'action-required': 'REMINDER, ACTION REQUIRED', warning: 'REMINDER' },
};

/** What an email is about: the incident's kind and reason, how urgent it is, and which notice. */
export interface MessageTopic extends Pick<OutboxMessage, 'notice' | 'reason' | 'severity'> {
  readonly kind: IncidentKind;
}

/**
 * Plain text for a phone screen, state first: what happened and since when, the date that matters,
 * where (instance, stack, account, region), what it means, and the exact command that fixes it.
 */
export function composeMessage(topic: MessageTopic, ctx: MessageContext): Message {
  const { kind, reason, severity, notice } = topic;
  const subject = ctx.incidentSubject ?? incidentSubject(kind, reason, ctx);
  const consumer = ctx.consumer === undefined ? undefined : consumerProfile(ctx.consumer).label;
  if (notice === 'resolved' && consumer !== undefined) {
    return {
      subject,
      body: [
        `RESOLVED: a new refresh token was handed off to ${consumer} with "${ctx.cli} handoff".${ctx.consumerTokenExpiresAt === undefined ? '' : ` It expires on ${formatTime(ctx.consumerTokenExpiresAt)}.`}`,
        '',
        `Resolved:   ${formatTime(ctx.now)}`,
        ...where(ctx),
        '',
        `Nothing more to do, once ${consumer}'s admin has pasted it.`,
      ].join('\n'),
    };
  }
  if (notice === 'resolved') {
    const renewed =
      kind === 'refresh-token-expiry' && ctx.refreshTokenExpiresAt !== undefined
        ? ` The refresh token now expires on ${formatTime(ctx.refreshTokenExpiresAt)}.`
        : '';
    // A countdown has no "since" worth telling: its date is the expiry, named in the subject.
    const countdown =
      kind === 'refresh-token-expiry' || kind === 'certificate-expiry' || kind === 'consumer-token-expiry';
    return {
      subject,
      body: [
        `RESOLVED: ${RESOLVED_TITLES[kind]}.${renewed}`,
        '',
        countdown
          ? `Resolved:   ${formatTime(ctx.now)}`
          : `Resolved:   ${formatTime(ctx.now)}, after ${formatDuration(ctx.now - ctx.since)}`,
        ...(countdown ? [] : [`Since:      ${formatTime(ctx.since)}`]),
        ...where(ctx),
        '',
        'Nothing to do.',
      ].join('\n'),
    };
  }
  const t = INCIDENT_TEXTS[kind](reason, ctx);
  const date = t.date
    ? `${`${t.date.label}:`.padEnd(12)}${formatTime(t.date.at)}`
    : `Since:      ${formatTime(ctx.since)}`;
  return {
    subject,
    body: [
      `${STATE[notice][severity]}: ${t.title}.`,
      '',
      t.what,
      '',
      date,
      `Sent:       ${formatTime(ctx.now)}`,
      ...where(ctx),
      '',
      consumer === undefined ? `For sync jobs: ${t.impact}` : `For ${consumer}: ${t.impact}`,
      '',
      'What to do:',
      t.fix,
      ...runbookLine(ctx, t.anchor),
    ].join('\n'),
  };
}
