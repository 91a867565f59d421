import { instanceCommand } from '../command';
import { CliError, EXIT } from '../errors';
import { PASSWORD_GRANT_OPTIONS, passwordGrant } from '../password-grant';
import { readStoredCredentials, storedGrant } from '../stored-credentials';

export const renewCommand = instanceCommand({
  name: 'renew',
  summary: 'start a new refresh token with the stored client (the command expiry emails name)',
  description: `Starts a new refresh token with the stored client id and secret: one password grant, a probe, and
both secrets rewritten. Closes the expiry countdown. The password is never stored. With
--new-client it asks for the client id and secret too: for a client secret changed in ServiceNow.`,
  options: {
    ...PASSWORD_GRANT_OPTIONS,
    'new-client': {
      type: 'boolean',
      help: 'ask for the client id and secret too (the client secret changed in ServiceNow)',
    },
  },
  async run(ctx, instance, options) {
    const stored = await readStoredCredentials(ctx, instance);
    const grant = storedGrant(stored);
    if (grant && grant !== 'password') {
      throw new CliError(
        `${instance.name} is on the ${grant} grant, which has no refresh token to renew. To replace its credentials: snow-token bootstrap ${instance.name} --grant ${grant} --new-client`,
        EXIT.usage,
      );
    }
    return passwordGrant(ctx, instance, 'renew', stored, options);
  },
});
