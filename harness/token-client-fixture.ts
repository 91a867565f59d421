import type { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TokenClient, type TokenClientSettings } from '../client/token-client';
import { LambdaRefreshRequester } from '../lambda/shared/refresh-requester';
import { localAwsConfig } from './local-aws/aws-env';
import type { RefresherFixture } from './refresher-fixture';

export interface InvocationRecord {
  readonly at: number;
  readonly payload: unknown;
}

/**
 * The Lambda service, played in-process: moto cannot run function code without Docker, so an
 * InvokeCommand runs the real refresher handler (one warm execution environment) here instead.
 * This is the one stand-in in these tests; everything else is real HTTP to the simulator and moto.
 * A handler that throws comes back as Lambda reports it: FunctionError and an error payload.
 */
export function inProcessRefresherLambda(fixture: RefresherFixture) {
  // The deployed function, as sync jobs reach it.
  const handler = fixture.handler({ invokers: 'anyone-with-invoke' });
  const invocations: InvocationRecord[] = [];
  const lambda: Pick<LambdaClient, 'send'> = {
    send: (async (command: { input: { Payload?: Uint8Array } }) => {
      const payload: unknown = JSON.parse(new TextDecoder().decode(command.input.Payload));
      invocations.push({ at: fixture.clock.now(), payload });
      try {
        const response = await handler(payload);
        return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(response)) };
      } catch (error) {
        const body = { errorType: (error as Error).name, errorMessage: (error as Error).message };
        return {
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: new TextEncoder().encode(JSON.stringify(body)),
        };
      }
    }) as unknown as LambdaClient['send'],
  };
  return { lambda, invocations };
}

/** Counts the GetSecretValue calls a Secrets Manager client sends, through the SDK's middleware. */
export function countSecretReads(client: SecretsManagerClient): { readonly count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') counter.count++;
      return next(args);
    },
    { step: 'initialize', name: 'countSecretReads' },
  );
  return counter;
}

/**
 * A token client as a sync job holds it: its own Secrets Manager client (so its reads are
 * counted apart from the refresher's), the deployed Lambda requester, the fixture's clock.
 */
export function syncJobTokenClient(
  fixture: RefresherFixture,
  options: {
    readonly instance?: string;
    /** The name the client asks the refresher about. @default the fixture instance's name */
    readonly askFor?: string;
    readonly settings?: Partial<TokenClientSettings>;
    /** The instance address the client is pinned to. @default the fixture instance's */
    readonly instanceUrl?: string;
  } = {},
) {
  const instance = fixture.instance(options.instance);
  const secrets = new SecretsManagerClient(localAwsConfig());
  const reads = countSecretReads(secrets);
  const { lambda, invocations } = inProcessRefresherLambda(fixture);
  const tokens = new TokenClient(
    {
      instance: options.askFor ?? instance.config.name,
      secretId: instance.config.accessTokenSecretId,
      instanceUrl: options.instanceUrl ?? instance.config.url,
      secrets,
      refresher: new LambdaRefreshRequester(lambda, 'servicenow-token-refresher'),
      clock: fixture.clock,
    },
    options.settings,
  );
  fixture.onClose(() => secrets.destroy());
  return { tokens, reads, invocations, secrets };
}
