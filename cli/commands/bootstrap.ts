import { readFileSync } from 'node:fs';
import { instanceCommand } from '../command';
import { CliError, EXIT } from '../errors';
import { keylessGrant } from '../keyless-grant';
import { PASSWORD_GRANT_OPTIONS, passwordGrant } from '../password-grant';
import { readStoredCredentials, storedGrant } from '../stored-credentials';

export const bootstrapCommand = instanceCommand({
  name: 'bootstrap',
  summary: "store an instance's OAuth client and a first refresh token (password grant)",
  description: `--grant password (the default for a new instance):

Asks for the OAuth client id and secret (unless already stored; --new-client asks again), the
integration user's name and password (hidden), runs one password grant, probes with the new token,
and stores the credentials and the access token. The password is never stored, logged or accepted
as an argument or environment variable. With --password-stdin, standard input holds the password
on one line (preceded by the client secret on its own line when a client secret is asked for).

--grant client_credentials: no user, no password, no refresh token, no 100-day renewal. Asks for
the client id and secret and stores them once ServiceNow issues a token with them. Needs
glide.oauth.inbound.client.credential.grant_type.enabled = true and an OAuth Application User on
the registry record (Washington DC and later).

--grant jwt_bearer: no password and no refresh token either. Makes a key pair and a certificate
valid 2 years (or uses --private-key and --certificate), prints the certificate and the ServiceNow
steps to register it, then tries the grant every --wait-interval (15 s) for up to --wait (900 s)
until the admin has done so. Nothing is stored until ServiceNow accepts it; the private key is
only ever stored in the credentials secret.`,
  options: {
    grant: {
      type: 'string',
      value: '<grant>',
      help: 'password, client_credentials or jwt_bearer (default: the stored one, else password)',
    },
    ...PASSWORD_GRANT_OPTIONS,
    'private-key': { type: 'string', value: '<file>', help: 'jwt_bearer: your own private key (PEM)' },
    certificate: { type: 'string', value: '<file>', help: 'jwt_bearer: the certificate of that key (PEM)' },
    wait: {
      type: 'string',
      value: '<seconds>',
      help: 'jwt_bearer: how long to wait for the certificate to be registered (default 900)',
    },
    'wait-interval': {
      type: 'string',
      value: '<seconds>',
      help: 'jwt_bearer: how often to try the grant meanwhile (default 15)',
    },
  },
  async run(ctx, instance, options) {
    const stored = await readStoredCredentials(ctx, instance);
    const grant = options.grant ?? storedGrant(stored) ?? 'password';
    if (grant === 'client_credentials' || grant === 'jwt_bearer') {
      return keylessGrant(ctx, instance, grant, stored, {
        clientId: options['client-id'],
        username: options.username,
        newClient: options['new-client'] ?? false,
        passwordStdin: options['password-stdin'] ?? false,
        privateKeyFile: options['private-key'],
        certificateFile: options.certificate,
        waitMs: seconds(options.wait, 900, '--wait') * 1000,
        intervalMs: seconds(options['wait-interval'], 15, '--wait-interval') * 1000,
        readFile: (path) => readFileSync(path, 'utf8'),
      });
    }
    if (grant !== 'password') {
      throw new CliError(
        `Unknown grant "${grant}": use password, client_credentials or jwt_bearer.`,
        EXIT.usage,
      );
    }
    return passwordGrant(ctx, instance, 'bootstrap', stored, options);
  },
});

function seconds(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new CliError(`${flag} takes whole seconds, e.g. ${flag} ${fallback}.`, EXIT.usage);
  return Number(value);
}
