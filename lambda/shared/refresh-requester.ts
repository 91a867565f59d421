import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { RefreshReplyOutcome } from './refresh-outcome';
import { fingerprint } from './state/instance-state';

/** What the refresher did for one instance. */
export interface RefreshResult {
  readonly instance: string;
  readonly outcome: RefreshReplyOutcome;
  readonly detail?: string;
  readonly accessTokenExpiresAt?: string;
}

/** The refresher function's answer to an invocation: one result per instance it speaks of. */
export interface RefreshResponse {
  readonly results: readonly RefreshResult[];
}

/**
 * Asks the refresher for an immediate refresh of one instance and returns what it did.
 * `seenToken` is the access token the caller saw fail or run short (undefined when the secret held
 * none): the deployed refresher replaces only that token, and answers "token-changed" when the
 * secret already holds another. Operators' requesters (the CLI) force a refresh whatever it is.
 */
export interface RefreshRequester {
  requestRefresh(instance: string, seenToken?: string): Promise<RefreshResult>;
}

/**
 * The deployed way: a synchronous invocation of the refresher function, which takes the
 * instance's lease like any other writer. Needs lambda:InvokeFunction (the construct's
 * grantRequestRefresh).
 */
export class LambdaRefreshRequester implements RefreshRequester {
  constructor(
    private readonly lambda: Pick<LambdaClient, 'send'>,
    private readonly functionName: string,
  ) {}

  async requestRefresh(instance: string, seenToken?: string): Promise<RefreshResult> {
    // Only a one-way fingerprint of the token travels, never the token.
    const request = {
      action: 'refresh',
      instance,
      ...(seenToken !== undefined && { fingerprint: fingerprint(seenToken) }),
    };
    const out = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      throw new Error(
        `the refresher function ${this.functionName} failed (${out.FunctionError}); see its log group. ${text.slice(0, 300)}`,
      );
    }
    const response = JSON.parse(text) as RefreshResponse;
    // A forced run that waited for a lapse reports twice for the instance: the last word counts.
    const result = response.results.findLast((r) => r.instance === instance);
    if (!result) throw new Error(`the refresher returned no result for ${instance}`);
    return result;
  }
}
