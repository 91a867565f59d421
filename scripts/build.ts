/**
 * `npm run build`: what the published package runs, in dist/.
 *   dist/construct/  the package root (the construct), ESM + CommonJS, with .d.ts / .d.cts
 *   dist/client/     `servicenow-token-refresher/client`, ESM + CommonJS, with .d.ts / .d.cts
 *   dist/assets/     each Lambda handler bundled (the construct's code assets, as projen's
 *                    lambda-function component does it: built once here, never at the consumer's synth)
 *   dist/cli/        `snow-token`: main.mjs, self-contained (its AWS clients inside) so that a
 *                    client-only install pulls none of the CLI's dependencies, and the bin that loads it
 * Library outputs import only declared dependencies and peers; the build fails otherwise.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { build as tsup } from 'tsup';
import { handlerBuildOptions, TOKEN_FUNCTION_NAMES } from '../lib/handler-bundle';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const NODE_TARGET = 'node20';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });

  await Promise.all(
    TOKEN_FUNCTION_NAMES.map((name) =>
      esbuild.build(
        handlerBuildOptions(join(ROOT, 'lambda', name, 'handler.ts'), join(DIST, 'assets', name)),
      ),
    ),
  );

  for (const [name, entry] of [
    ['construct', 'lib/index.ts'],
    ['client', 'client/index.ts'],
  ] as const) {
    await tsup({
      entry: { index: join(ROOT, entry) },
      outDir: join(DIST, name),
      format: ['esm', 'cjs'],
      dts: true,
      platform: 'node',
      target: NODE_TARGET,
      // import.meta.url in the CommonJS output (the construct finds its assets beside itself).
      shims: true,
      sourcemap: false,
      clean: false,
      splitting: false,
      // Nothing from node_modules is copied in: consumers share one aws-cdk-lib, SDK and zod.
      skipNodeModulesBundle: true,
      tsconfig: join(ROOT, 'tsconfig.json'),
      silent: true,
    });
  }

  await esbuild.build({
    entryPoints: [join(ROOT, 'bin', 'snow-token.ts')],
    outfile: join(DIST, 'cli', 'main.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: NODE_TARGET,
    minify: true,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
  // The bin turns on Node's compile cache (22.1 and later; a no-op before) before it loads the
  // 1.6 MB bundle, so every start after the first skips compiling it again.
  writeFileSync(
    join(DIST, 'cli', 'snow-token.mjs'),
    "#!/usr/bin/env node\nimport module from 'node:module';\n\nmodule.enableCompileCache?.();\nawait import('./main.mjs');\n",
    { mode: 0o755 },
  );

  checkImports(['construct', 'client']);
}

/** Every bare import left in a library output must be a dependency or peer, or consumers break. */
function checkImports(folders: readonly string[]): void {
  const declared = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
  ]);
  const builtins = new Set(builtinModules);
  const problems: string[] = [];
  for (const folder of folders) {
    for (const file of readdirSync(join(DIST, folder))) {
      const text = readFileSync(join(DIST, folder, file), 'utf8');
      for (const match of text.matchAll(
        /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']([^"'./][^"']*)["']/g,
      )) {
        const specifier = match[1] ?? '';
        const bare = specifier.replace(/^node:/, '');
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : (specifier.split('/')[0] ?? '');
        if (specifier.startsWith('node:') || builtins.has(bare) || declared.has(name)) continue;
        problems.push(
          `${folder}/${file} imports "${specifier}", which is not a dependency or peer dependency`,
        );
      }
    }
  }
  if (problems.length)
    throw new Error(`The build imports undeclared packages:\n  ${[...new Set(problems)].join('\n  ')}`);
}

await main();
