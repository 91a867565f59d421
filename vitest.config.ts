import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The package's own name means its source here, as tsconfig.json's paths say.
const alias = {
  'servicenow-token-refresher/client': fileURLToPath(new URL('client/index.ts', import.meta.url)),
};
const INTEGRATION = 'test/**/*.integration.test.ts';

/**
 * Two tiers. `unit`: everything that needs neither the local AWS emulator nor a network port it
 * did not open itself (pure cores with in-memory stores, the simulator, CDK synth); it never starts
 * moto. `integration`: files named `*.integration.test.ts`, which share one moto server. `npm test`
 * runs both; `npm run test:unit` runs the first alone.
 */
export default defineConfig({
  resolve: { alias },
  test: {
    // Two cores here; the simulator and moto share them with the workers.
    maxWorkers: 2,
    // Node 20 runs the tests here; the SDK's notice about its future Node 22 floor is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [INTEGRATION],
          testTimeout: 60_000,
          // The CDK tests synthesize (and bundle the three functions) in beforeAll: past 10 s on a busy machine.
          hookTimeout: 60_000,
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: [INTEGRATION],
          globalSetup: ['harness/local-aws/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        },
      },
    ],
  },
});
