import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { formatTime } from '../../lambda/shared/alerts/messages';
import { consumerProfile } from '../../lambda/shared/consumers/consumer-profiles';
import {
  type ConsumerToken,
  type WatchSecret,
  watchSecretName,
} from '../../lambda/shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../../lambda/shared/instance-config';
import { describeOutcome } from '../../lambda/shared/servicenow/outcome';
import { fingerprint } from '../../lambda/shared/state/instance-state';
import { instanceCommand } from '../command';
import { consumerName, LIFESPAN_DAYS_OPTION, lifespanSeconds, recordConsumerToken } from '../consumer-record';
import type { CliContext } from '../context';
import { CliError, EXIT, type ExitCode } from '../errors';
import { storedCredentials } from '../stored-credentials';
import { paint } from '../terminal';

export const handoffCommand = instanceCommand({
  name: 'handoff',
  summary: 'mint a refresh token for another tool (e.g. --to exalate), show it once, count it down',
  description: `For tools that hold their own ServiceNow refresh token (Exalate and the like): replaces the curl
password grant of their setup guides. Asks for the OAuth client secret and the user's password
(hidden; never stored, never accepted as arguments or environment variables), runs one password
grant against the instance, then one refresh grant with the new token to prove it and to detect
an instance that rotates refresh tokens (then the newest one is handed off, and never verified).

Shows the client id and the refresh token once, with where the tool's admin pastes each value;
--output <file> writes them to a new owner-only (0600) file instead of the screen. The client is
the instance's stored one unless --client-id names another. The deployment records the token
without its value (tool, issue time, lifespan, fingerprint), counts it down and warns before it
expires, like its own. A new handoff to the same tool replaces the record and closes the warnings.
--lifespan-days: the client's refresh token lifespan (default: the instance's configured one).
--watch: also keep the token (and the client secret) in a secret only the expiry watch reads, and
prove it once a day with one refresh grant (its access token dropped at once): a revoked token is
reported within a day, before the tool's sync breaks. Never for a rotating token.`,
  options: {
    to: { type: 'string', value: '<tool>', help: 'the tool that will hold the token, e.g. exalate' },
    'client-id': {
      type: 'string',
      value: '<id>',
      help: "the OAuth client (default: the instance's stored one)",
    },
    username: { type: 'string', value: '<name>', help: "the integration user's name, instead of a prompt" },
    output: { type: 'string', value: '<file>', help: 'write the values to this new owner-only file' },
    'lifespan-days': LIFESPAN_DAYS_OPTION,
    watch: { type: 'boolean', help: 'prove the token once a day with one refresh grant' },
    'password-stdin': {
      type: 'boolean',
      help: 'read the client secret and the password from standard input, one a line',
    },
  },
  run: (ctx, instance, options) =>
    handoff(ctx, instance, {
      consumer: options.to,
      clientId: options['client-id'],
      username: options.username,
      passwordStdin: options['password-stdin'] ?? false,
      output: options.output,
      lifespanDays: options['lifespan-days'],
      watch: options.watch ?? false,
    }),
});

interface HandoffOptions {
  readonly consumer: string | undefined;
  readonly clientId?: string;
  readonly username?: string;
  readonly passwordStdin: boolean;
  /** Write the values to this new file (owner-only) instead of the screen. */
  readonly output?: string;
  readonly lifespanDays?: string;
  readonly watch: boolean;
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
      options.clientId ?? (await storedCredentials(ctx, instance))?.clientId,
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
    const { replaced, expiresAt } = await recordConsumerToken(ctx, instance, record);
    // A token no longer watched must not stay stored: its secret goes.
    if (!watched && replaced?.watched) await ctx.secrets.remove(secretName);

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
