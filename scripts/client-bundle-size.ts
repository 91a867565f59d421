/**
 * What the token client adds to a sync job's bundle, in bytes: esbuild, platform node, minified.
 * Twice: with the AWS SDK external (a job that already ships @aws-sdk/* pays only this), and with
 * everything bundled (a job that ships nothing else). Prints JSON lines; `npm run bench` reads them.
 *
 *   npx tsx scripts/client-bundle-size.ts
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export interface BundleCost {
  readonly bundle: 'aws-sdk-external' | 'all-bundled';
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Minified bytes per npm package, and `(this package)` for our own source. */
  readonly byPackage: Readonly<Record<string, number>>;
}

function packageOf(path: string): string {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(this package)';
}

export async function measureClientBundle(): Promise<BundleCost[]> {
  const entry = fileURLToPath(new URL('../client/index.ts', import.meta.url));
  const costs: BundleCost[] = [];
  for (const bundle of ['aws-sdk-external', 'all-bundled'] as const) {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      metafile: true,
      external: bundle === 'aws-sdk-external' ? ['@aws-sdk/*'] : [],
    });
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    const byPackage: Record<string, number> = {};
    for (const output of Object.values(result.metafile.outputs)) {
      for (const [path, input] of Object.entries(output.inputs)) {
        const name = packageOf(path);
        byPackage[name] = (byPackage[name] ?? 0) + input.bytesInOutput;
      }
    }
    const sorted = Object.fromEntries(Object.entries(byPackage).sort(([, a], [, b]) => b - a));
    costs.push({ bundle, bytes: code.byteLength, gzipBytes: gzipSync(code).byteLength, byPackage: sorted });
  }
  return costs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const cost of await measureClientBundle()) {
    console.log(JSON.stringify({ benchmark: 'client-bundle-size', ...cost }));
  }
}
