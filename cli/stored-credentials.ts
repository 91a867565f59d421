import { randomUUID } from 'node:crypto';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import type { BootstrapDeps } from '../lambda/shared/password-bootstrap';
import {
  type CredentialsSecret,
  credentialsSecretSchema,
  GRANTS,
  type Grant,
  parseSecretJson,
} from '../lambda/shared/secrets/credentials-secret';
import { describeOutcome } from '../lambda/shared/servicenow/outcome';
import type { CliContext } from './context';
import { paint } from './terminal';

/** The instance's credentials secret as bootstrap, renew and doctor find it. */
export type StoredCredentials =
  | { readonly kind: 'missing' }
  /** Not valid credentials; `grant` is what it names, if it is JSON that names one. */
  | { readonly kind: 'invalid'; readonly grant?: Grant }
  | { readonly kind: 'valid'; readonly credentials: CredentialsSecret };

export async function readStoredCredentials(
  ctx: Pick<CliContext, 'secrets'>,
  instance: InstanceConfig,
): Promise<StoredCredentials> {
  const read = await ctx.secrets.read(instance.credentialsSecretId);
  if (read.kind === 'missing') return { kind: 'missing' };
  const parsed = parseSecretJson(credentialsSecretSchema, read.text);
  if (parsed.kind === 'ok') return { kind: 'valid', credentials: parsed.value };
  try {
    const named = (JSON.parse(read.text) as { grant?: unknown }).grant;
    return { kind: 'invalid', grant: GRANTS.find((grant) => grant === named) };
  } catch {
    return { kind: 'invalid' };
  }
}

/** The grant the secret names, even when the rest of it is not valid: bootstrap and renew pick their path by it. */
export function storedGrant(stored: StoredCredentials): Grant | undefined {
  return stored.kind === 'valid'
    ? stored.credentials.grant
    : stored.kind === 'invalid'
      ? stored.grant
      : undefined;
}

/** The instance's credentials, if its secret holds valid ones. */
export async function storedCredentials(
  ctx: Pick<CliContext, 'secrets'>,
  instance: InstanceConfig,
): Promise<CredentialsSecret | undefined> {
  const stored = await readStoredCredentials(ctx, instance);
  return stored.kind === 'valid' ? stored.credentials : undefined;
}

/**
 * How bootstrap and renew store new credentials: under the refresher's lease, closing the incidents
 * the new credentials fix, and only once the new access token passes the instance's probe. A probe
 * refused by ACLs (403) still stores them: the token works, the user lacks a role, and the operator
 * is told which.
 */
export function credentialsWriter(ctx: CliContext, instance: InstanceConfig): BootstrapDeps {
  const client = ctx.serviceNow(instance);
  return {
    clock: ctx.clock,
    secrets: ctx.secrets,
    state: ctx.state,
    client,
    owner: `cli/${randomUUID()}`,
    alerts: ctx.alerts,
    verify: async (accessToken) => {
      const probe = await client.probe(accessToken, instance.probePath);
      if (probe.kind === 'ok') return { ok: true };
      if (probe.kind === 'forbidden') {
        ctx.terminal.err(
          paint(
            ctx.terminal,
            'yellow',
            `Warning: the new token works, but the probe got 403 (${probe.message}). Give the user the role snc_platform_rest_api_access (itil contains it).`,
          ),
        );
        return { ok: true };
      }
      return { ok: false, message: `the new token did not pass the probe: ${describeOutcome(probe)}` };
    },
  };
}
