import { formatTime } from '../lambda/shared/alerts/messages';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import { bootstrapWithCredentials } from '../lambda/shared/password-bootstrap';
import type { CliContext } from './context';
import { CliError, EXIT, type ExitCode } from './errors';
import { generateSigningKey, readSigningKey, type SigningKey } from './jwt-key';
import { credentialsWriter, type StoredCredentials } from './stored-credentials';
import { paint } from './terminal';

export interface KeylessAnswers {
  readonly clientId?: string;
  readonly username?: string;
  readonly newClient: boolean;
  readonly passwordStdin: boolean;
  /** jwt_bearer: an existing key and certificate (files), instead of a new pair. */
  readonly privateKeyFile?: string;
  readonly certificateFile?: string;
  /** jwt_bearer: how long to wait for the certificate to be registered, and how often to try. */
  readonly waitMs: number;
  readonly intervalMs: number;
  readonly readFile: (path: string) => string;
}

const JWT_STEPS = (
  instance: InstanceConfig,
  clientId: string,
  username: string,
) => `In ServiceNow (${instance.url}), as an admin:
  1. System Definition > Certificates > New: name "snow-token ${instance.name}", Format PEM,
     Type "Trust Store Cert", and paste the certificate above into PEM Certificate. Submit.
  2. System OAuth > JWT Keys > New: name "snow-token ${instance.name}", Signing Keystore = that
     certificate, Signing Algorithm RSA 256. Submit.
  3. System OAuth > Application Registry > the OAuth client "${clientId}": open the
     "JWT Verifier Maps" related list > New: Sys certificate = that certificate. Submit.
     (For a new client: New > "Create an OAuth JWT API endpoint for external clients".)
  4. Make sure the user "${username}" is active, not locked, and has the roles your sync jobs need.`;

/**
 * bootstrap for grants without refresh tokens. client_credentials: the client id and secret,
 * verified with one grant. jwt_bearer: a key pair (new, or the operator's), the certificate and the
 * ServiceNow steps printed, then a grant tried until the admin has registered it. Nothing is stored
 * until ServiceNow accepts the grant.
 */
export async function keylessGrant(
  ctx: CliContext,
  instance: InstanceConfig,
  grant: 'client_credentials' | 'jwt_bearer',
  found: StoredCredentials,
  answers: KeylessAnswers,
): Promise<ExitCode> {
  const { terminal } = ctx;
  const stored = found.kind === 'valid' ? found.credentials : undefined;
  const reuse = stored !== undefined && !answers.newClient;
  const piped = answers.passwordStdin ? (await terminal.readAllInput()).split(/\r?\n/) : undefined;
  const clientId = reuse
    ? stored.clientId
    : (answers.clientId ?? (await terminal.ask('OAuth client id: ', { hidden: false })).trim());
  let clientSecret = reuse ? stored.clientSecret : piped?.shift();
  clientSecret ??= await terminal.ask('OAuth client secret (hidden): ', { hidden: true });
  if (!clientId || !clientSecret)
    throw new CliError('The client id and secret are required; nothing was stored.', EXIT.usage);

  const deps = credentialsWriter(ctx, instance);
  let credentials: Parameters<typeof bootstrapWithCredentials>[2];
  if (grant === 'client_credentials') {
    credentials = { schemaVersion: 1, grant, clientId, clientSecret };
  } else {
    const storedJwt = stored?.grant === 'jwt_bearer' && reuse ? stored : undefined;
    const username =
      answers.username ??
      storedJwt?.username ??
      (await terminal.ask('ServiceNow user the tokens act as (the JWT sub): ', { hidden: false })).trim();
    if (!username) throw new CliError('The user name is required; nothing was stored.', EXIT.usage);
    let key: SigningKey;
    if (answers.privateKeyFile || answers.certificateFile) {
      if (!answers.privateKeyFile || !answers.certificateFile) {
        throw new CliError(
          'Give both --private-key and --certificate, or neither to make a new pair.',
          EXIT.usage,
        );
      }
      try {
        key = readSigningKey(
          answers.readFile(answers.privateKeyFile),
          answers.readFile(answers.certificateFile),
        );
      } catch (error) {
        throw new CliError(`Cannot use that key and certificate: ${(error as Error).message}.`, EXIT.usage);
      }
    } else if (storedJwt) {
      key = {
        privateKeyPem: storedJwt.privateKeyPem,
        certificatePem: storedJwt.certificatePem,
        expiresAt: Date.parse(storedJwt.certificateExpiresAt),
      };
    } else {
      key = generateSigningKey({ subject: `snow-token ${instance.name}`, now: ctx.clock.now(), days: 730 });
    }
    credentials = {
      schemaVersion: 1,
      grant,
      clientId,
      clientSecret,
      username,
      privateKeyPem: key.privateKeyPem,
      certificatePem: key.certificatePem,
      certificateExpiresAt: new Date(key.expiresAt).toISOString(),
    };
    terminal.out(
      `The certificate ServiceNow must trust (valid until ${formatTime(key.expiresAt)}):\n\n${key.certificatePem}`,
    );
    terminal.out(JWT_STEPS(instance, clientId, username));
  }

  const deadline = ctx.clock.now() + (grant === 'jwt_bearer' ? answers.waitMs : 0);
  for (let attempt = 1; ; attempt++) {
    const result = await bootstrapWithCredentials(deps, instance, credentials);
    if (result.kind === 'ok') {
      terminal.out(
        paint(
          terminal,
          'green',
          `Stored ${grant} credentials for ${instance.name}: ServiceNow issued a token and the probe passed.`,
        ),
      );
      terminal.out(
        grant === 'jwt_bearer'
          ? `No refresh token, so no 100-day renewal. The certificate expires on ${formatTime(Date.parse((credentials as { certificateExpiresAt: string }).certificateExpiresAt))}; you will be warned before.`
          : 'No refresh token, so no 100-day renewal: nothing to renew, ever, unless the client secret changes.',
      );
      return EXIT.ok;
    }
    if (
      result.kind === 'busy' ||
      result.kind === 'refused' ||
      (result.kind === 'failed' && result.outcome.kind !== 'rejected')
    ) {
      const message =
        result.kind === 'busy' ? 'another writer holds the instance; try again in a minute' : result.message;
      throw new CliError(
        `bootstrap failed: ${message}. The stored credentials were left as they were.`,
        EXIT.failed,
      );
    }
    if (ctx.clock.now() + answers.intervalMs > deadline) {
      throw new CliError(
        `bootstrap failed: ${result.message}. The stored credentials were left as they were.`,
        EXIT.failed,
      );
    }
    if (attempt === 1)
      terminal.err(
        `Waiting for the certificate to be registered (trying every ${Math.round(answers.intervalMs / 1000)} s; Ctrl-C to stop, nothing is stored until it works)...`,
      );
    await ctx.clock.sleep(answers.intervalMs);
  }
}
