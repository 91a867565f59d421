import { copyFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/** Where each function's entry lives: `lambda/<name>/handler.ts`, exporting `handler`. */
export type TokenFunctionName = 'refresher' | 'probe' | 'expiry-watch';

export const TOKEN_FUNCTION_NAMES: readonly TokenFunctionName[] = ['refresher', 'probe', 'expiry-watch'];

/** The bundle's entry file; Lambda's handler setting is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * How every handler is bundled, at `npm run build` for the published package and at synth when the
 * construct runs from this repository's source: minified ESM for Node.js 24 with source maps and
 * the AWS SDK inside, so the SDK version is the one we tested.
 */
export function handlerBuildOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile: join(outdir, BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    // Some bundled CommonJS dependencies call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  };
}

/**
 * Where a function's code comes from. In the published package the handlers were bundled by
 * `npm run build` into `dist/assets/<name>/` beside the compiled construct (no esbuild, lockfile or
 * Docker needed at the consumer's synth, aws/aws-cdk#12996); run from this repository's source, the
 * construct bundles `lambda/<name>/handler.ts` itself, so the code deployed is always the code
 * beside it.
 */
export type HandlerSource =
  | { readonly kind: 'prebuilt'; readonly dir: string }
  | { readonly kind: 'source'; readonly dir: string; readonly entry: string };

/** `moduleUrl` is the calling module's `import.meta.url`: `lib/*.ts` in source, `dist/construct/*` once built. */
export function locateHandler(name: TokenFunctionName, moduleUrl: string): HandlerSource {
  const here = dirname(fileURLToPath(moduleUrl));
  const prebuilt = join(here, '..', 'assets', name);
  if (existsSync(join(prebuilt, BUNDLE_FILE))) return { kind: 'prebuilt', dir: prebuilt };
  const sourceDir = join(here, '..', 'lambda', name);
  const entry = join(sourceDir, 'handler.ts');
  if (existsSync(entry)) return { kind: 'source', dir: sourceDir, entry };
  throw new Error(
    `The ${name} function's code is missing: neither ${join(prebuilt, BUNDLE_FILE)} nor ${entry} exists. Reinstall servicenow-token-refresher (the package ships its functions pre-built), or run "npm run build" in a checkout.`,
  );
}

/** Writes the function's bundle into `outdir`: copies the pre-built one, or builds it from source. */
export function writeHandlerBundle(source: HandlerSource, outdir: string, moduleUrl: string): void {
  if (source.kind === 'prebuilt') {
    for (const file of [BUNDLE_FILE, `${BUNDLE_FILE}.map`]) {
      if (existsSync(join(source.dir, file))) copyFileSync(join(source.dir, file), join(outdir, file));
    }
    return;
  }
  // esbuild is a development dependency: loaded only here, when running from source.
  const esbuild = createRequire(moduleUrl)('esbuild') as typeof import('esbuild');
  esbuild.buildSync(handlerBuildOptions(source.entry, outdir));
}
