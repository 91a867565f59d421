import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { CONSUMER_KINDS } from '../lambda/expiry-watch/consumer-watch';
import { formatTime } from '../lambda/shared/alerts/messages';
import { consumerProfile } from '../lambda/shared/consumers/consumer-profiles';
import {
  CONSUMER_NAME,
  type ConsumerToken,
  consumerDaysLeft,
  consumerTokenExpiresAt,
  type WatchSecret,
  watchSecretName,
} from '../lambda/shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import { credentialsSecretSchema, parseSecretJson } from '../lambda/shared/secrets/credentials-secret';
import { describeOutcome } from '../lambda/shared/servicenow/outcome';
import { fingerprint } from '../lambda/shared/state/instance-state';
import type { CliContext } from './commands';
import { CliError, EXIT, type ExitCode } from './errors';
import { paint, table } from './terminal';

export interface HandoffOptions {
  readonly consumer: string | undefined;
  readonly clientId?: string;
  readonly username?: string;
  readonly passwordStdin: boolean;
  /** Write the values to this new file (owner-only) instead of the screen. */
  readonly output?: string;
  readonly lifespanDays?: string;
  readonly watch: boolean;
}

export interface TrackOptions {
  readonly consumer: string | undefined;
  readonly issued?: string;
  readonly lifespanDays?: string;
}

function consumerName(given: string | undefined, command: string, instance: string): string {
  if (!given) {
    throw new CliError(
      `Name the tool that will hold the token: snow-token ${command} ${instance} --to exalate`,
      EXIT.usage,
    );
  }
  if (!CONSUMER_NAME.test(given)) {
    throw new CliError(
      `--to "${given}": use lower-case letters, digits and dashes, e.g. --to exalate or --to exalate-prod`,
      EXIT.usage,
    );
  }
  return given;
}

/** --lifespan-days, else the instance's configured refresh-token lifespan, else ServiceNow's 100 days. */
function lifespanSeconds(ctx: CliContext, instance: InstanceConfig, given: string | undefined): number {
  if (given !== undefined) {
    if (!/^\d+$/.test(given) || Number(given) < 1 || Number(given) > 3650) {
      throw new CliError(
        '--lifespan-days takes whole days from 1 to 3650, e.g. --lifespan-days 100',
        EXIT.usage,
      );
    }
    return Number(given) * 86_400;
  }
  const configured = ctx.deployment.refreshTokenLifespanDays?.[instance.name];
  return (configured ?? 100) * 86_400;
}

async function storedClientId(ctx: CliContext, instance: InstanceConfig): Promise<string | undefined> {
  const read = await ctx.secrets.read(instance.credentialsSecretId);
  if (read.kind === 'missing') return undefined;
  const parsed = parseSecretJson(credentialsSecretSchema, read.text);
  return parsed.kind === 'ok' ? parsed.value.clientId : undefined;
}

/** Creates the output file before anything is asked, so a bad path fails before a token exists. */
function openOwnerOnly(path: string): number {
  try {
    return openSync(path, 'wx', 0o600);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CliError(
      code === 'EEXIST'
        ? `--output ${path} already exists. Name a new file (it is created owner-only), or remove the old one first.`
        : `Cannot create --output ${path}: ${(error as Error).message}`,
      EXIT.usage,
    );
  }
}

/**
 * `snow-token handoff <instance> --to <consumer>`: the password grant another tool's admin would
 * run with curl, done safely. The client secret and password are asked hidden and live in this
 * function's memory only. One refresh grant right after proves the token and detects a rotating
 * instance (a different refresh token comes back): then the newest token is the one handed off,
 * and it is recorded as never to be verified by us. The token's value is shown once (or written to
 * an owner-only file) and recorded only as a fingerprint.
 */
export async function handoff(
  ctx: CliContext,
  instance: InstanceConfig,
  options: HandoffOptions,
): Promise<ExitCode> {
  const { terminal } = ctx;
  const consumer = consumerName(options.consumer, 'handoff', instance.name);
  const profile = consumerProfile(consumer);
  const lifespan = lifespanSeconds(ctx, instance, options.lifespanDays);
  const file = options.output === undefined ? undefined : openOwnerOnly(options.output);
  let written = false;
  try {
    const piped = options.passwordStdin ? (await terminal.readAllInput()).split(/\r?\n/) : undefined;
    const hidden = async (question: string, what: string) => {
      const answer = piped ? piped.shift() : await terminal.ask(question, { hidden: true });
      if (!answer) {
        throw new CliError(
          piped
            ? `--password-stdin: expected the ${what} on its own line of standard input.`
            : `The ${what} is required; nothing was handed off.`,
          EXIT.usage,
        );
      }
      return answer;
    };
    const visible = async (question: string, given: string | undefined, what: string) => {
      const answer = given ?? (await terminal.ask(question, { hidden: false })).trim();
      if (!answer) throw new CliError(`The ${what} is required; nothing was handed off.`, EXIT.usage);
      return answer;
    };

    const clientId = await visible(
      'OAuth client id: ',
      options.clientId ?? (await storedClientId(ctx, instance)),
      'client id',
    );
    terminal.err(`Handing off a refresh token for ${instance.name} (${instance.url}) to ${profile.label}.`);
    const clientSecret = await hidden(
      `OAuth client secret of ${clientId} (hidden, ${options.watch ? 'kept only in the watch secret' : 'never stored'}): `,
      'client secret',
    );
    const username = await visible('Integration user name: ', options.username, 'user name');
    const password = await hidden(`Password for ${username} (hidden, never stored): `, 'password');

    terminal.err(`Asking ${instance.url} for a new refresh token...`);
    const client = ctx.serviceNow(instance);
    const grant = await client.requestToken({
      grantType: 'password',
      clientId,
      clientSecret,
      username,
      password,
    });
    if (grant.kind !== 'ok') {
      throw new CliError(
        grant.kind === 'rejected'
          ? 'handoff failed: ServiceNow refused the password grant: check the client id and secret, the user name and password, that the user is active, not locked and a local account, and that the password grant is enabled on the instance. Nothing was handed off.'
          : `handoff failed: ${describeOutcome(grant)}. Nothing was handed off; try again.`,
        EXIT.failed,
      );
    }
    const first = grant.value.refreshToken;
    if (first === undefined) {
      throw new CliError(
        'handoff failed: the password grant returned no refresh token (is this client set up for the password grant?). Nothing was handed off.',
        EXIT.failed,
      );
    }
    // Before anything is pasted: one refresh grant with the new token. ServiceNow echoes the same
    // refresh token; a rotating instance (or a proxy) answers with a new one and revokes the first.
    terminal.err('Checking that the new token works and whether this instance rotates refresh tokens...');
    const check = await client.requestToken({
      grantType: 'refresh_token',
      clientId,
      clientSecret,
      refreshToken: first,
    });
    if (check.kind !== 'ok') {
      throw new CliError(
        check.kind === 'rejected'
          ? `handoff failed: ServiceNow refused the new refresh token at once (a proxy in between, or the token was revoked). Do not paste it. Check with "snow-token doctor ${instance.name}", then try again.`
          : `handoff failed: could not check the new refresh token: ${describeOutcome(check)}. Do not paste it; try again.`,
        EXIT.failed,
      );
    }
    const returned = check.value.refreshToken;
    const rotating = returned !== undefined && returned !== first;
    const refreshToken = rotating ? returned : first;
    const issuedAt = rotating ? check.value.sentAt : grant.value.sentAt;

    // Never watch a rotating token: each check would replace it under the tool.
    const watched = options.watch && !rotating;
    const secretName = watchSecretName(instance.credentialsSecretId, consumer);
    if (watched) {
      const secret: WatchSecret = { schemaVersion: 1, consumer, clientId, clientSecret, refreshToken };
      await ctx.secrets.writeCreating(
        secretName,
        secret,
        `${profile.label}'s ServiceNow refresh token for ${instance.name}, kept for the daily check (snow-token handoff --watch). Read only by the expiry watch.`,
      );
    }
    const record: ConsumerToken = {
      consumer,
      instance: instance.name,
      source: 'handoff',
      issuedAt,
      lifespanSeconds: lifespan,
      fingerprint: fingerprint(refreshToken),
      clientId,
      rotating,
      watched,
      recordedAt: ctx.clock.now(),
    };
    const replaced = await ctx.consumers.record(record);
    // A token no longer watched must not stay stored: its secret goes.
    if (!watched && replaced?.watched) await ctx.secrets.remove(secretName);
    const expiresAt = consumerTokenExpiresAt(record);
    await closeConsumerIncidents(ctx, instance, record);

    if (options.watch && rotating) {
      terminal.err(
        paint(
          terminal,
          'yellow',
          'Not watched: a rotating token is never checked (the check would replace it).',
        ),
      );
    }
    const steps = profile.pasteSteps({ instanceUrl: new URL(instance.url).origin, clientId });
    const values = [
      `Client ID:      ${clientId}`,
      `Refresh token:  ${refreshToken}`,
      `Expires:        ${formatTime(expiresAt)} (${Math.round(lifespan / 86_400)} days after this grant; refreshing never extends it)`,
    ].join('\n');
    if (file !== undefined) {
      writeSync(
        file,
        `# ${profile.label} refresh token for ${instance.name}: paste, then delete this file.\n${values}\n`,
      );
      written = true;
    }
    terminal.out(paint(terminal, 'green', `New refresh token for ${profile.label} on ${instance.name}.`));
    if (rotating) {
      terminal.out(
        paint(
          terminal,
          'yellow',
          'This instance (or a proxy in front of it) rotates refresh tokens: the check got a new one back, so that newest one is handed off. It is recorded as rotating and will never be verified by this deployment (a verification would replace the token under the tool).',
        ),
      );
    }
    terminal.out('');
    terminal.out(steps);
    terminal.out('');
    if (file !== undefined) {
      terminal.out(
        `The client id and refresh token are in ${options.output} (readable by you only). Paste them, then delete the file.`,
      );
    } else {
      terminal.out('Shown once, never stored by this deployment:');
      terminal.out(values);
    }
    terminal.out('');
    terminal.out(`Then: ${profile.connectionCheck}`);
    terminal.out('');
    terminal.out(
      `Tracked: ${profile.label}'s token for ${instance.name} expires on ${formatTime(expiresAt)}; warnings go to the alert topic before then.${replaced ? ' It replaces the token recorded before for this tool.' : ''}`,
    );
    if (watched) {
      terminal.out(
        'Watched: the deployment keeps this token (and the client secret) in its own secret, and proves it once a day with one refresh grant; a refusal is reported within a day.',
      );
    }
    terminal.out(`Renew it before then with: snow-token handoff ${instance.name} --to ${consumer}`);
    return EXIT.ok;
  } finally {
    if (file !== undefined) {
      closeSync(file);
      // A file we created but never filled would only confuse: remove it.
      if (!written && options.output) unlinkSync(options.output);
    }
  }
}

/** A new token for the tool ends its old token's incidents, each with its recovery email. */
async function closeConsumerIncidents(ctx: CliContext, instance: InstanceConfig, record: ConsumerToken) {
  for (const kind of CONSUMER_KINDS) {
    await ctx.alerts.observe(
      { name: instance.name, url: instance.url, consumer: record.consumer },
      kind,
      { active: false },
      { consumerTokenExpiresAt: consumerTokenExpiresAt(record), consumerClientId: record.clientId },
    );
  }
}

function parseIssued(given: string | undefined, instance: string, consumer: string, now: number): number {
  if (!given) {
    throw new CliError(
      `Say when the token was minted: snow-token track ${instance} --to ${consumer} --issued 2026-01-05 (the day of the curl password grant; a time such as 2026-01-05T09:30Z is more exact).`,
      EXIT.usage,
    );
  }
  const at = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(given) ? `${given}T00:00:00Z` : given);
  if (Number.isNaN(at)) {
    throw new CliError(
      `--issued "${given}" is not a date: use e.g. 2026-01-05 or 2026-01-05T09:30Z`,
      EXIT.usage,
    );
  }
  if (at > now) throw new CliError(`--issued ${given} is in the future.`, EXIT.usage);
  return at;
}

/** `snow-token track <instance> --to <consumer> --issued <date>`: a token minted elsewhere, counted down from its issue date. */
export async function track(
  ctx: CliContext,
  instance: InstanceConfig,
  options: TrackOptions,
): Promise<ExitCode> {
  const consumer = consumerName(options.consumer, 'track', instance.name);
  const profile = consumerProfile(consumer);
  const now = ctx.clock.now();
  const issuedAt = parseIssued(options.issued, instance.name, consumer, now);
  const record: ConsumerToken = {
    consumer,
    instance: instance.name,
    source: 'track',
    issuedAt,
    lifespanSeconds: lifespanSeconds(ctx, instance, options.lifespanDays),
    rotating: false,
    watched: false,
    recordedAt: now,
  };
  const replaced = await ctx.consumers.record(record);
  const expiresAt = consumerTokenExpiresAt(record);
  await closeConsumerIncidents(ctx, instance, record);
  const days = consumerDaysLeft(record, now);
  ctx.terminal.out(
    `Tracking ${profile.label}'s refresh token for ${instance.name}: it expires on ${formatTime(expiresAt)} (${days < 0 ? 'already expired' : `${days} days left`}).${replaced ? ' This replaces the record kept before for this tool.' : ''}`,
  );
  ctx.terminal.out(`Renew it before then with: snow-token handoff ${instance.name} --to ${consumer}`);
  return EXIT.ok;
}

/** The "tokens held by other tools" part of status. */
export function consumerRows(tokens: readonly ConsumerToken[], now: number) {
  return tokens.map((t) => ({
    instance: t.instance,
    consumer: t.consumer,
    source: t.source,
    issuedAt: t.issuedAt,
    expiresAt: consumerTokenExpiresAt(t),
    daysLeft: consumerDaysLeft(t, now),
    rotating: t.rotating,
    watched: t.watched,
    fingerprint: t.fingerprint,
  }));
}

export function printConsumerTable(ctx: CliContext, tokens: readonly ConsumerToken[], now: number): void {
  if (tokens.length === 0) return;
  const t = ctx.terminal;
  t.out('');
  t.out('TOKENS HELD BY OTHER TOOLS');
  t.out(
    table(
      ['INSTANCE', 'TOOL', 'ISSUED', 'EXPIRES', 'DAYS LEFT', 'CHECKED DAILY'],
      consumerRows(tokens, now).map((r) => [
        r.instance,
        consumerProfile(r.consumer).label,
        `${formatTime(r.issuedAt)} (${r.source})`,
        formatTime(r.expiresAt),
        paint(
          t,
          r.daysLeft <= 7 ? 'red' : r.daysLeft <= 30 ? 'yellow' : 'green',
          String(Math.max(r.daysLeft, 0)) + (r.daysLeft < 0 ? ' (expired)' : ''),
        ),
        r.rotating ? 'never (rotating)' : r.watched ? 'yes' : 'no',
      ]),
    ),
  );
}
