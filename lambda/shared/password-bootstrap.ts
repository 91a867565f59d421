import type { Alerts } from './alerts/alerts';
import type { Clock } from './clock';
import type { InstanceConfig } from './instance-config';
import type { AccessTokenSecret } from './secrets/access-token-secret';
import { type CredentialsSecret, DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS } from './secrets/credentials-secret';
import type { SecretStore } from './secrets/secret-store';
import { describeOutcome, type FailedOutcome } from './servicenow/outcome';
import type { ServiceNowClient } from './servicenow/servicenow-client';
import { fingerprint, type InstanceState } from './state/instance-state';
import type { StateStore } from './state/state-store';

export interface PasswordBootstrapInput {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly username: string;
  /** Used for one grant and dropped: never stored, logged or returned. */
  readonly password: string;
  readonly refreshTokenLifespanSeconds?: number;
}

export type PasswordBootstrapResult =
  | {
      readonly kind: 'ok';
      readonly refreshTokenExpiresAt: number;
      readonly accessTokenExpiresAt: number;
      readonly state: InstanceState;
    }
  | { readonly kind: 'busy' }
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'failed'; readonly outcome: FailedOutcome; readonly message: string };

/**
 * Runs a password grant and stores what it returns, under the same lease the refresher takes, so
 * a renewal racing a scheduled refresh loses nothing. The password grant is also the only thing
 * that restarts the refresh token's lifespan, so the issue time is recorded here and nowhere else.
 * Nothing is written unless the grant succeeds.
 */
export async function bootstrapWithPassword(
  deps: {
    readonly clock: Clock;
    readonly secrets: SecretStore;
    readonly state: StateStore;
    readonly client: Pick<ServiceNowClient, 'requestToken'>;
    readonly owner: string;
    readonly leaseMs?: number;
    /** When given, the incidents a renewal fixes are closed (with their recovery emails) at once. */
    readonly alerts?: Alerts;
    /**
     * Called with the new access token before anything is written (the CLI probes with it); a
     * refusal leaves the stored credentials exactly as they were.
     */
    readonly verify?: (
      accessToken: string,
    ) => Promise<{ readonly ok: true } | { readonly ok: false; readonly message: string }>;
  },
  instance: InstanceConfig,
  input: PasswordBootstrapInput,
): Promise<PasswordBootstrapResult> {
  const { clock, secrets, state, owner } = deps;
  const leased = await state.acquireLease(instance.name, owner, clock.now(), deps.leaseMs ?? 90_000);
  if (!leased) return { kind: 'busy' };
  let released = false;
  try {
    const outcome = await deps.client.requestToken({ grantType: 'password', ...input });
    if (outcome.kind !== 'ok') {
      const message =
        outcome.kind === 'rejected'
          ? 'ServiceNow refused the password grant: check the client id and secret, the user name and password, that the user is active, not locked and a local account, and that the password grant is enabled on the instance'
          : describeOutcome(outcome);
      return { kind: 'failed', outcome, message };
    }
    const token = outcome.value;
    if (token.refreshToken === undefined) {
      const failed: FailedOutcome = {
        kind: 'malformed',
        status: outcome.status,
        detail: 'the password grant returned no refresh token',
      };
      return { kind: 'failed', outcome: failed, message: describeOutcome(failed) };
    }
    const verdict = await deps.verify?.(token.accessToken);
    if (verdict && !verdict.ok) return { kind: 'refused', message: verdict.message };
    const lifespan = input.refreshTokenLifespanSeconds ?? DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS;
    const credentials: CredentialsSecret = {
      schemaVersion: 1,
      grant: 'password',
      clientId: input.clientId,
      clientSecret: input.clientSecret,
      refreshToken: token.refreshToken,
      refreshTokenIssuedAt: new Date(token.sentAt).toISOString(),
      refreshTokenLifespanSeconds: lifespan,
    };
    const accessTokenExpiresAt = token.sentAt + token.expiresInSeconds * 1000;
    const accessToken: AccessTokenSecret = {
      schemaVersion: 1,
      instanceUrl: new URL(instance.url).origin,
      accessToken: token.accessToken,
      tokenType: 'Bearer',
      expiresAt: new Date(accessTokenExpiresAt).toISOString(),
      refreshedAt: new Date(token.sentAt).toISOString(),
    };
    await secrets.write(instance.credentialsSecretId, credentials);
    await secrets.write(instance.accessTokenSecretId, accessToken);
    const now = clock.now();
    const next = await state.commit(
      instance.name,
      owner,
      {
        accessTokenExpiresAt,
        accessTokenFingerprint: fingerprint(token.accessToken),
        accessTokenRefreshedAt: now,
        accessTokenLifespanSeconds: token.expiresInSeconds + 1,
        grant: 'password',
        refreshTokenIssuedAt: token.sentAt,
        refreshTokenLifespanSeconds: lifespan,
        refreshTokenFingerprint: fingerprint(token.refreshToken),
        lastAttemptAt: now,
        lastOutcome: 'bootstrapped',
        lastOutcomeDetail: null,
        lastSuccessAt: now,
        failingSince: null,
        consecutiveFailures: 0,
        nextAttemptAt: null,
      },
      { release: true },
    );
    released = true;
    const refreshTokenExpiresAt = token.sentAt + lifespan * 1000;
    for (const kind of ['refresh', 'refresh-token-expiry'] as const) {
      await deps.alerts?.observe(
        instance,
        kind,
        { active: false },
        { refreshTokenExpiresAt, accessTokenExpiresAt },
      );
    }
    return {
      kind: 'ok',
      refreshTokenExpiresAt,
      accessTokenExpiresAt,
      state: next,
    };
  } finally {
    if (!released) await state.releaseLease(instance.name, owner);
  }
}
