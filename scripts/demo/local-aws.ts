import { type MotoServer, startMoto } from '../../test/support/local-aws/moto-server';

/**
 * Starts the local AWS emulator for a script (the demo, the benchmark) and points the test support
 * at it. The support modules read moto's endpoint with vitest's `inject('motoEndpoint')`, which
 * only works inside a vitest worker; outside one, this provides the same value the way vitest's
 * global setup would. The handlers' own SDK lookups get the usual environment variables.
 */
export async function startLocalAws(): Promise<MotoServer> {
  const moto = await startMoto();
  const scope = globalThis as { __vitest_worker__?: { providedContext: Record<string, unknown> } };
  if (scope.__vitest_worker__ === undefined) {
    Object.defineProperty(scope, '__vitest_worker__', {
      value: { providedContext: { motoEndpoint: moto.endpoint } },
      configurable: true,
      writable: true,
      enumerable: false,
    });
  }
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  return moto;
}
