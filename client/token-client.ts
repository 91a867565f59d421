import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Clock, systemClock } from '../lambda/shared/clock';
import { TRANSIENT_REPLY_OUTCOMES } from '../lambda/shared/refresh-outcome';
import type { RefreshRequester } from '../lambda/shared/refresh-requester';
import {
  type AccessTokenSecret,
  accessTokenSecretSchema,
} from '../lambda/shared/secrets/access-token-secret';
import { parseSecretJson } from '../lambda/shared/secrets/credentials-secret';
import { type SecretStore, SecretsManagerSecretStore } from '../lambda/shared/secrets/secret-store';
import { parseInstanceUrl } from '../lambda/shared/servicenow/instance-url';
import { TokenClientError } from './token-client-error';

/** A token as `getToken()` hands it out. Never log it. */
export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Where the token is valid, e.g. https://acme.service-now.com (no trailing slash). */
  readonly instanceUrl: string;
  /** Milliseconds since the epoch; never later than ServiceNow's own expiry. */
  readonly expiresAt: number;
}

export interface TokenClientSettings {
  /**
   * What `getToken()` promises by default: the token stays valid at least this long after it is
   * returned. Long sync batches pass a larger `minValidityMs` per call.
   * @default 60 000 ms
   */
  readonly minValidityMs: number;
  /** Added to every minimum, for clocks that disagree a little. @default 5 000 ms */
  readonly clockSkewMs: number;
  /**
   * How long `getToken()` waits for a new token once one can exist: from the refresh request, or,
   * on instances that hand back the current token until it lapses, from that lapse.
   * @default 30 000 ms
   */
  readonly maxWaitMs: number;
  /** Waited past a lapse before looking for the new token; the refresher waits the same. @default 1 500 ms */
  readonly lapseSlackMs: number;
}

export const DEFAULT_TOKEN_CLIENT_SETTINGS: TokenClientSettings = {
  minValidityMs: 60_000,
  clockSkewMs: 5_000,
  maxWaitMs: 30_000,
  lapseSlackMs: 1_500,
};

export interface TokenClientDeps {
  /** The refresher's name for the instance, as in `snow-token status <instance>`. */
  readonly instance: string;
  /** Name or ARN of the instance's access-token secret. */
  readonly secretId: string;
  /**
   * The instance address the token is for, e.g. "https://acme.service-now.com": a secret that names
   * another host is refused, so the token is never handed out for (and sent to) another one.
   * @default - any https host the secret names (http on loopback only); pass it in production
   */
  readonly instanceUrl?: string;
  readonly secrets: Pick<SecretsManagerClient, 'send'>;
  /** How to ask the refresher for an immediate refresh; deployed, a `LambdaRefreshRequester`. */
  readonly refresher: RefreshRequester;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default Math.random */
  readonly random?: () => number;
}

export interface GetTokenOptions {
  /** @default the client's minValidityMs */
  readonly minValidityMs?: number;
}

/** Refresh requests and re-reads per `getToken()` are capped as well as timed. */
const MAX_STEPS = 30;
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 2_000;

interface Flight {
  readonly minValidityMs: number;
  readonly promise: Promise<AccessToken>;
}

type Stored = { readonly kind: 'missing' } | { readonly kind: 'token'; readonly token: AccessToken };

/**
 * Hands sync jobs a ServiceNow access token that stays valid for at least a minimum, from the
 * access-token secret the refresher keeps. One instance per process and ServiceNow instance: it
 * caches the token in memory, lets concurrent callers share one read, and when the stored token
 * is too close to its end asks the refresher for a new one and waits for it, within bounds.
 */
export class TokenClient {
  private readonly settings: TokenClientSettings;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly store: SecretStore;
  private cached: AccessToken | undefined;
  private flight: Flight | undefined;
  /** The last token ServiceNow refused (see `invalidate`); never handed out again. */
  private rejected: string | undefined;
  /** Learned from the refresher: this instance hands back the current token until it lapses. */
  private echoesCurrentToken = false;

  constructor(
    private readonly deps: TokenClientDeps,
    settings: Partial<TokenClientSettings> = {},
  ) {
    this.settings = { ...DEFAULT_TOKEN_CLIENT_SETTINGS, ...settings };
    for (const [name, value] of Object.entries(this.settings)) {
      if (!Number.isFinite(value) || value < 0) {
        throw new Error(`TokenClient setting ${name} must be a number of milliseconds >= 0, e.g. 60000`);
      }
    }
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.store = new SecretsManagerSecretStore(deps.secrets);
    this.pinnedOrigin =
      deps.instanceUrl === undefined ? undefined : parseInstanceUrl(deps.instanceUrl).origin;
  }

  private readonly pinnedOrigin: string | undefined;

  get instance(): string {
    return this.deps.instance;
  }

  /**
   * A token valid for at least `minValidityMs` (plus the skew margin) from now. From memory while
   * the cached one is good enough; otherwise one secret read shared by all concurrent callers.
   */
  async getToken(options: GetTokenOptions = {}): Promise<AccessToken> {
    const minValidityMs = options.minValidityMs ?? this.settings.minValidityMs;
    if (!Number.isFinite(minValidityMs) || minValidityMs < 0) {
      throw new Error(`minValidityMs must be a number of milliseconds >= 0, e.g. 600000 for ten minutes`);
    }
    // Bounded: a caller with another minimum than the read in flight waits for it once or twice
    // (its token may do), then reads itself.
    for (let round = 0; round < 3; round++) {
      const cached = this.cached;
      if (cached && this.isUsable(cached, minValidityMs)) return cached;
      const flight = this.flight;
      if (!flight) return this.startFlight(minValidityMs);
      // Same need: share the outcome, a failure included, so a failure is not retried by every caller.
      if (flight.minValidityMs === minValidityMs) return flight.promise;
      const token = await flight.promise.catch(() => undefined);
      if (token && this.isUsable(token, minValidityMs)) return token;
    }
    return this.startFlight(minValidityMs);
  }

  /**
   * Tells the client that ServiceNow refused this token (HTTP 401). It is dropped from memory and
   * never handed out again; the next `getToken()` reads the secret, and asks the refresher for a
   * new token if the secret still holds this one.
   */
  invalidate(accessToken: string): void {
    this.rejected = accessToken;
    if (this.cached?.accessToken === accessToken) this.cached = undefined;
  }

  private startFlight(minValidityMs: number): Promise<AccessToken> {
    const promise: Promise<AccessToken> = this.acquire(minValidityMs).finally(() => {
      if (this.flight?.promise === promise) this.flight = undefined;
    });
    this.flight = { minValidityMs, promise };
    return promise;
  }

  private isUsable(token: AccessToken, minValidityMs: number): boolean {
    return (
      token.accessToken !== this.rejected &&
      token.expiresAt - this.clock.now() >= minValidityMs + this.settings.clockSkewMs
    );
  }

  private async acquire(minValidityMs: number): Promise<AccessToken> {
    const { instance } = this.deps;
    const { maxWaitMs, lapseSlackMs } = this.settings;
    let deadline = this.clock.now() + maxWaitMs;
    let stored = await this.read();
    let lastReport = 'the stored token was not valid for long enough';
    let pollMs = POLL_FIRST_MS;
    /** Set while another writer is expected to replace the token we saw (its value, or undefined). */
    let writer: { readonly replacing: string | undefined } | undefined;

    for (let step = 0; step < MAX_STEPS; step++) {
      if (stored.kind === 'token' && this.isUsable(stored.token, minValidityMs)) {
        this.cached = stored.token;
        return stored.token;
      }
      const now = this.clock.now();
      const lapse = stored.kind === 'token' ? stored.token.expiresAt : undefined;
      const heldUntilLapse =
        this.echoesCurrentToken &&
        lapse !== undefined &&
        lapse > now &&
        stored.kind === 'token' &&
        stored.token.accessToken !== this.rejected;
      if (heldUntilLapse) {
        // ServiceNow hands back this token until it lapses: no new one can exist before then, and
        // the refresher already waits for that second. Look just after it, with a little jitter.
        deadline = Math.max(deadline, lapse + lapseSlackMs + maxWaitMs);
        await this.clock.sleep(lapse + lapseSlackMs + this.random() * 500 - now);
        stored = await this.read();
        continue;
      }
      if (now >= deadline) break;
      const seen = stored.kind === 'token' ? stored.token.accessToken : undefined;
      if (writer && writer.replacing === seen) {
        // Re-read (not re-invoke) until the writer's token appears: one refresh request per wait.
        await this.clock.sleep(Math.min(pollMs * (0.75 + this.random() * 0.5), deadline - now));
        pollMs = Math.min(pollMs * 2, POLL_MAX_MS);
        stored = await this.read();
        continue;
      }
      writer = undefined;

      const result = await this.requestRefresh(seen);
      const reported = `${result.outcome}${result.detail ? ` (${result.detail})` : ''}`;
      lastReport = `the refresher last reported ${reported}`;
      switch (result.outcome) {
        case 'refreshed': {
          stored = await this.read();
          if (stored.kind === 'missing') {
            throw new TokenClientError(
              'secret-missing',
              `the refresher stored a new token for ${instance}, but the secret ${this.deps.secretId} has none: check that secretId names this instance's access-token secret`,
              false,
            );
          }
          const left = stored.token.expiresAt - this.clock.now();
          if (
            stored.token.accessToken !== this.rejected &&
            left > 0 &&
            !this.isUsable(stored.token, minValidityMs)
          ) {
            throw new TokenClientError(
              'validity-unreachable',
              `a new token for ${instance} is valid for ${Math.floor(left / 1000)} s, less than the ${Math.ceil((minValidityMs + this.settings.clockSkewMs) / 1000)} s asked for (minValidityMs plus ${this.settings.clockSkewMs} ms skew margin): ask for less, or raise the access token lifespan on the instance's Application Registry record`,
              false,
            );
          }
          writer = { replacing: seen };
          break;
        }
        case 'current-token-returned': {
          this.echoesCurrentToken = true;
          const reportedExpiry = result.accessTokenExpiresAt
            ? Date.parse(result.accessTokenExpiresAt)
            : undefined;
          if (stored.kind === 'token' && stored.token.accessToken === this.rejected) {
            throw new TokenClientError(
              'refresh-failed',
              `ServiceNow refused the stored token for ${instance} (HTTP 401) yet hands it back as current: check that the integration user is active, not locked, and has the roles the request needs`,
              false,
            );
          }
          // The invocation may itself have waited for the lapse, or another writer refreshed since
          // our read: either way the secret may now hold a newer token.
          if (
            reportedExpiry === undefined ||
            reportedExpiry !== lapse ||
            reportedExpiry <= this.clock.now()
          ) {
            stored = await this.read();
          }
          break;
        }
        case 'token-changed':
          // Another request or run replaced the token since our read: no refresh was spent on us.
          stored = await this.read();
          writer = { replacing: seen };
          break;
        case 'busy':
        case 'not-due':
          // Another writer holds the lease (usually the scheduled run): its token appears shortly.
          writer = { replacing: seen };
          break;
        default: {
          const transient = TRANSIENT_REPLY_OUTCOMES.includes(result.outcome);
          throw new TokenClientError(
            'refresh-failed',
            `the refresher reported ${reported} for ${instance}${transient ? '; it keeps retrying by itself, try again in a minute' : ''}`,
            transient,
          );
        }
      }
    }
    throw new TokenClientError(
      'timeout',
      `no token for ${instance} valid for ${Math.ceil(minValidityMs / 1000)} s appeared within ${Math.ceil(maxWaitMs / 1000)} s (${lastReport}); try again, and check the refresher's log and "snow-token status ${instance}" if it persists`,
      true,
    );
  }

  private async requestRefresh(seenToken: string | undefined) {
    try {
      return await this.deps.refresher.requestRefresh(this.deps.instance, seenToken);
    } catch (error) {
      const denied = (error as Error).name === 'AccessDeniedException';
      throw new TokenClientError(
        'refresh-request-failed',
        `could not ask the refresher for a new token for ${this.deps.instance}: ${(error as Error).message ?? String(error)}. ${denied ? 'The caller needs lambda:InvokeFunction on the refresher function (grantRequestRefresh)' : "Try again; if it persists, check the refresher function's log group"}`,
        !denied,
        { cause: error },
      );
    }
  }

  private async read(): Promise<Stored> {
    const { secretId } = this.deps;
    let read: Awaited<ReturnType<SecretStore['read']>>;
    try {
      read = await this.store.read(secretId);
    } catch (error) {
      const name = (error as Error).name ?? 'Error';
      throw new TokenClientError(
        'secret-unreadable',
        `could not read the access-token secret ${secretId} (${name}): ${name === 'AccessDeniedException' ? 'the caller needs secretsmanager:GetSecretValue on it (the construct grants it with grantReadAccessToken), and kms:Decrypt on its key' : 'try again; Secrets Manager or the network failed'}`,
        name !== 'AccessDeniedException',
        { cause: error },
      );
    }
    if (read.kind === 'missing') return read;
    const parsed = parseSecretJson(accessTokenSecretSchema, read.text);
    if (parsed.kind === 'invalid') {
      throw new TokenClientError(
        'secret-invalid',
        `the access-token secret ${secretId} does not hold a valid token record (${parsed.problem}); it is written by the refresher only, so check that secretId names the access-token secret, not the credentials one`,
        false,
      );
    }
    let origin: string;
    try {
      origin = parseInstanceUrl(parsed.value.instanceUrl).origin;
    } catch (error) {
      throw new TokenClientError(
        'secret-invalid',
        `the access-token secret ${secretId} names an instance address the token may not be sent to: ${(error as Error).message}`,
        false,
      );
    }
    if (this.pinnedOrigin !== undefined && origin !== this.pinnedOrigin) {
      throw new TokenClientError(
        'host-mismatch',
        `the access-token secret ${secretId} is for ${origin}, not ${this.pinnedOrigin} this client was given; no token is handed out. Check secretId and instanceUrl`,
        false,
      );
    }
    return { kind: 'token', token: toAccessToken(parsed.value) };
  }
}

function toAccessToken(secret: AccessTokenSecret): AccessToken {
  return Object.freeze({
    accessToken: secret.accessToken,
    tokenType: secret.tokenType,
    instanceUrl: new URL(secret.instanceUrl).origin,
    expiresAt: Date.parse(secret.expiresAt),
  });
}
