import { type MotoServer, startMoto } from '../../harness/local-aws/moto-server';

/**
 * Starts the local AWS emulator for a script (the demo, the benchmark) and points both the test
 * support (LOCAL_AWS_ENDPOINT, read by localAwsConfig) and the handlers' own SDK clients (the usual
 * AWS_* variables) at it.
 */
export async function startLocalAws(): Promise<MotoServer> {
  const moto = await startMoto();
  process.env.LOCAL_AWS_ENDPOINT = moto.endpoint;
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  return moto;
}
