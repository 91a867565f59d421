/** Stable exit codes: scripts may rely on them. */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed: ServiceNow refused, was unreachable, a check failed. */
  failed: 1,
  /** The command line was wrong. */
  usage: 2,
  /** The deployment or AWS access is not as expected: unknown instance, no stack, no credentials. */
  environment: 3,
  /** Ctrl-C at a prompt. Nothing was stored. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error meant for the operator: what failed, why it matters, what to do. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Turns AWS SDK errors the operator can fix into plain words. */
export function explainAwsError(error: unknown): CliError | undefined {
  const name = (error as { name?: string })?.name ?? '';
  const message = (error as Error)?.message ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new CliError(
      'No AWS credentials found. Sign in (e.g. "aws sso login"), or pass --profile <name> / set AWS_PROFILE, then try again.',
      EXIT.environment,
    );
  }
  if (/Region is missing/i.test(message)) {
    return new CliError(
      'No AWS region set. Pass --region <code> or set AWS_REGION, e.g. eu-west-1.',
      EXIT.environment,
    );
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException') {
    return new CliError(
      `AWS refused the call (${name}): your role needs the operator permissions on this deployment (see "Default settings" in the README). ${message}`,
      EXIT.environment,
    );
  }
  if (
    /^(ExpiredToken|ExpiredTokenException|TokenRefreshRequired|InvalidClientTokenId|InvalidSignatureException)$/.test(
      name,
    ) ||
    /security token included in the request is (expired|invalid)|token has expired|sso session .*expired/i.test(
      message,
    )
  ) {
    return new CliError(
      `Your AWS session has expired or is not valid (${name || 'expired token'}). Sign in again (e.g. "aws sso login --profile <name>"), then run the same command.`,
      EXIT.environment,
    );
  }
  if (name === 'ResourceNotFoundException' || name === 'NotFoundException') {
    return new CliError(
      `AWS says a resource of this deployment does not exist (${name}): the stack may be deployed in another account or region, or only partly. Check --region/--profile (or the configuration's "region"), and redeploy with "npx cdk deploy" if needed.`,
      EXIT.environment,
    );
  }
  const code = (error as { code?: string })?.code ?? '';
  if (
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code) ||
    /^(TimeoutError|RequestTimeout|NetworkingError)$/.test(name)
  ) {
    return new CliError(
      `AWS could not be reached (${code || name}). Check your network, proxy (HTTPS_PROXY) and region, then try again.`,
      EXIT.environment,
    );
  }
  return undefined;
}
