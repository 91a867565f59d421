export type TokenClientErrorCode =
  /** The access-token secret holds something that is not the documented JSON. */
  | 'secret-invalid'
  /** The access-token secret is for another instance than the one the client was given (instanceUrl). */
  | 'host-mismatch'
  /** The access-token secret does not exist or has no value, even after a refresh. */
  | 'secret-missing'
  /** Secrets Manager refused or failed the read (permissions, throttling, network). */
  | 'secret-unreadable'
  /** Invoking the refresher failed (permissions, the function threw, the network). */
  | 'refresh-request-failed'
  /** The refresher ran and reported that it could not get a token. */
  | 'refresh-failed'
  /** The tokens this instance issues never live as long as the minimum asked for. */
  | 'validity-unreachable'
  /** No token valid for long enough appeared within the wait. */
  | 'timeout';

/**
 * Why `getToken()` could not hand out a token. The message says what to do; it never contains a
 * token or any other secret value.
 */
export class TokenClientError extends Error {
  override readonly name = 'TokenClientError';

  constructor(
    readonly code: TokenClientErrorCode,
    message: string,
    /** True when the same call may well succeed in a minute without anyone acting. */
    readonly retryable: boolean,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}
