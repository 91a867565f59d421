import { formatTime } from '../lambda/shared/alerts/messages';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import { bootstrapWithPassword } from '../lambda/shared/password-bootstrap';
import type { OptionSpecs, OptionValues } from './command';
import type { CliContext } from './context';
import { CliError, EXIT, type ExitCode } from './errors';
import { credentialsWriter, type StoredCredentials } from './stored-credentials';
import { paint } from './terminal';

const DAY = 86_400_000;

/** The options of bootstrap and renew that answer the password grant's questions. */
export const PASSWORD_GRANT_OPTIONS = {
  'client-id': { type: 'string', value: '<id>', help: 'the OAuth client id, instead of a prompt' },
  username: { type: 'string', value: '<name>', help: "the integration user's name, instead of a prompt" },
  'password-stdin': {
    type: 'boolean',
    help: 'read the client secret (when asked for) and the password from standard input, one a line',
  },
  'new-client': { type: 'boolean', help: 'ask for the client id and secret even if some are stored' },
} as const satisfies OptionSpecs;

/**
 * bootstrap and renew: one password grant, a probe with the new token, then both secrets written
 * under the refresher's lease. The password lives in this function's memory only.
 */
export async function passwordGrant(
  ctx: CliContext,
  instance: InstanceConfig,
  mode: 'bootstrap' | 'renew',
  found: StoredCredentials,
  answers: OptionValues<typeof PASSWORD_GRANT_OPTIONS>,
): Promise<ExitCode> {
  const { terminal } = ctx;
  const stored = found.kind === 'valid' ? found.credentials : undefined;
  if (mode === 'renew' && !stored) {
    if (found.kind === 'missing') {
      throw new CliError(
        `No credentials are stored for ${instance.name}, so there is nothing to renew. Run "snow-token bootstrap ${instance.name}" instead.`,
        EXIT.environment,
      );
    }
    // The "credentials secret not valid" alert names renew as the fix: repair it rather than refuse.
    terminal.err(
      `The stored credentials secret of ${instance.name} is not valid, so renew replaces it: it asks for the OAuth client id and secret as well. Nothing is written until ServiceNow accepts them.`,
    );
  }
  // --new-client: the client secret changed in ServiceNow, so the stored one is not used (renew too).
  const reuseClient = stored !== undefined && !answers['new-client'];
  const piped = answers['password-stdin'] ? (await terminal.readAllInput()).split(/\r?\n/) : undefined;
  const fromPipe = (what: string): string => {
    const value = piped?.shift();
    if (!value) {
      throw new CliError(
        `--password-stdin: expected the ${what} on its own line of standard input.`,
        EXIT.usage,
      );
    }
    return value;
  };
  const askVisible = async (question: string, given?: string) => {
    if (given) return given;
    const answer = (await terminal.ask(question, { hidden: false })).trim();
    if (!answer) throw new CliError(`${question.replace(/:\s*$/, '')} is required.`, EXIT.usage);
    return answer;
  };
  const askHidden = async (question: string, what: string) => {
    if (piped) return fromPipe(what);
    const answer = await terminal.ask(question, { hidden: true });
    if (!answer) throw new CliError(`${what} is required; nothing was stored.`, EXIT.usage);
    return answer;
  };

  const clientId = reuseClient
    ? stored.clientId
    : await askVisible('OAuth client id: ', answers['client-id']);
  const clientSecret = reuseClient
    ? stored.clientSecret
    : await askHidden('OAuth client secret (hidden): ', 'client secret');
  const username = await askVisible('Integration user name: ', answers.username);
  const password = await askHidden(`Password for ${username} (hidden, never stored): `, 'password');

  terminal.err(`Asking ${instance.url} for a new refresh token...`);
  const result = await bootstrapWithPassword(credentialsWriter(ctx, instance), instance, {
    clientId,
    clientSecret,
    username,
    password,
    refreshTokenLifespanSeconds:
      stored?.grant === 'password' ? stored.refreshTokenLifespanSeconds : undefined,
  });
  switch (result.kind) {
    case 'busy':
      throw new CliError(
        `Another writer (the refresher, or another operator) holds ${instance.name} right now. Try again in a minute; nothing was stored.`,
        EXIT.failed,
      );
    case 'failed':
    case 'refused':
      throw new CliError(
        `${mode} failed: ${result.message}. The stored credentials were left as they were.`,
        EXIT.failed,
      );
    case 'ok': {
      const days = Math.round((result.refreshTokenExpiresAt - ctx.clock.now()) / DAY);
      if (ctx.json) {
        terminal.out(
          JSON.stringify({
            instance: instance.name,
            refreshTokenExpiresAt: new Date(result.refreshTokenExpiresAt).toISOString(),
            accessTokenExpiresAt: new Date(result.accessTokenExpiresAt).toISOString(),
          }),
        );
      } else {
        terminal.out(paint(terminal, 'green', `Stored new credentials for ${instance.name}.`));
        terminal.out(
          `The refresh token expires on ${formatTime(result.refreshTokenExpiresAt)} (in ${days} days). Renew before then with: snow-token renew ${instance.name}`,
        );
      }
      return EXIT.ok;
    }
  }
}
