/**
 * The token client for sync jobs: `servicenow-token-refresher/client`.
 *
 *   const tokens = createTokenClient({ instance: 'acme', secretId, refresherFunctionName });
 *   const { accessToken } = await tokens.getToken({ minValidityMs: 10 * 60_000 });
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { LambdaRefreshRequester } from '../lambda/shared/refresh-requester';
import { TokenClient, type TokenClientDeps, type TokenClientSettings } from './token-client';

export { type Clock, systemClock } from '../lambda/shared/clock';
export { LambdaRefreshRequester, type RefreshRequester } from '../lambda/shared/refresh-requester';
export {
  type AccessTokenSecret,
  accessTokenSecretSchema,
} from '../lambda/shared/secrets/access-token-secret';
export {
  describeOutcome,
  type FailedOutcome,
  isTransient,
  type Outcome,
  type OutcomeKind,
} from '../lambda/shared/servicenow/outcome';
export { createServiceNowAgent, type HttpLimits } from '../lambda/shared/servicenow/servicenow-client';
export {
  type ApiMethod,
  type ApiRequest,
  DEFAULT_API_LIMITS,
  ServiceNowApiClient,
  type ServiceNowApiClientDeps,
} from './servicenow-api-client';
export {
  type AccessToken,
  DEFAULT_TOKEN_CLIENT_SETTINGS,
  type GetTokenOptions,
  TokenClient,
  type TokenClientDeps,
  type TokenClientSettings,
} from './token-client';
export { TokenClientError, type TokenClientErrorCode } from './token-client-error';

export interface CreateTokenClientOptions {
  /** The refresher's name for the instance, e.g. "acme". */
  readonly instance: string;
  /** Name or ARN of the instance's access-token secret. */
  readonly secretId: string;
  /**
   * The instance the token is for, e.g. "https://acme.service-now.com": a secret naming another host
   * is refused. @default - any https host the secret names; pass it in production
   */
  readonly instanceUrl?: string;
  /** Name or ARN of the refresher function, asked for a new token when the stored one is too old. */
  readonly refresherFunctionName: string;
  /** @default DEFAULT_TOKEN_CLIENT_SETTINGS */
  readonly settings?: Partial<TokenClientSettings>;
  /** Region, endpoint or credentials for both AWS clients. @default - the SDK's usual lookup */
  readonly aws?: Pick<SecretsManagerClientConfig, 'region' | 'endpoint' | 'credentials' | 'maxAttempts'>;
  /** @default systemClock */
  readonly clock?: TokenClientDeps['clock'];
}

/**
 * A token client with its own AWS clients. Create one per process and instance, and share it:
 * its cache and single flight only help the callers that use the same object.
 */
export function createTokenClient(options: CreateTokenClientOptions): TokenClient {
  const aws = options.aws ?? {};
  return new TokenClient(
    {
      instance: options.instance,
      secretId: options.secretId,
      ...(options.instanceUrl !== undefined && { instanceUrl: options.instanceUrl }),
      secrets: new SecretsManagerClient({
        ...aws,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 },
      }),
      // The refresher may wait in-process for a token to lapse (up to its schedule interval).
      refresher: new LambdaRefreshRequester(
        new LambdaClient({ ...aws, requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 } }),
        options.refresherFunctionName,
      ),
      ...(options.clock && { clock: options.clock }),
    },
    options.settings,
  );
}
