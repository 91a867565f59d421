#!/usr/bin/env node
// `snow-token` in this repository: runs the TypeScript entry point through tsx (tests, the demo,
// `npm run snow-token`). The published package's bin is dist/cli/snow-token.mjs, built by `npm run build`.
import { register } from 'tsx/esm/api';

register();
await import('./snow-token.ts');
