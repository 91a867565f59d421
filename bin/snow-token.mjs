#!/usr/bin/env node
// `snow-token` as an npm bin: runs the TypeScript entry point through tsx.
import { register } from 'tsx/esm/api';

register();
await import('./snow-token.ts');
