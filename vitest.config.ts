import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The package's own name means its source here, as tsconfig.json's paths say.
  resolve: {
    alias: {
      'servicenow-token-refresher/client': fileURLToPath(new URL('client/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/local-aws/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here; the simulator and moto share them with the workers.
    maxWorkers: 2,
    // Node 20 runs the tests here; the SDK's notice about its future Node 22 floor is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
