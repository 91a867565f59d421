/**
 * The package as its users get it: `npm pack`, the tarball installed into fresh projects outside
 * this repository, each way in used as its ecosystem expects:
 *   - a TypeScript CDK app (NodeNext, CommonJS as `cdk init` makes it) on another aws-cdk-lib minor
 *     that synthesizes the construct with no esbuild anywhere;
 *   - ESM and CommonJS sync jobs that install only the client and read a token from moto;
 *   - `tsc` with NodeNext and with Bundler resolution against the published declarations;
 *   - `npx snow-token --help` and `--version` with no development dependency installed.
 * Slow by nature (a build and three installs): npm's cache keeps the installs local where it can.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE24 } from '../../harness/cdk/bundle-cycle';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import { copiesOf, installedProject, packPackage, ROOT, run } from '../../harness/package-install';

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** The lowest aws-cdk-lib the peer range admits; this repository itself runs the newest. */
const CDK_FLOOR = (PKG.peerDependencies['aws-cdk-lib'] ?? '').replace(/^\^/, '');
const LONG = 15 * 60_000;

/** The relative paths an exports map (or bin map) points at. */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value.replace(/^\.\//, '')];
  if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let work: string;
let tarball: string;
let packedFiles: readonly string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'snow-token-consumer-'));
  // From nothing: the tarball must get dist/ from the pack itself (prepack runs the build).
  ({ tarball, files: packedFiles } = await packPackage(work));
}, LONG);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds every file the exports map and the bin point at', () => {
    const wanted = [...targets(PKG.exports), ...targets(PKG.bin)];

    expect(wanted.length).toBeGreaterThan(8);
    for (const file of wanted) expect(packedFiles, file).toContain(file);
  });

  it('ships what runs and the notices, and no sources, tests, scripts or CI files', () => {
    expect(packedFiles).toEqual(
      // The runbook too: alarm descriptions point at it when no runbookUrl is set.
      expect.arrayContaining(['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json', 'docs/runbook.md']),
    );
    for (const name of ['refresher', 'probe', 'expiry-watch']) {
      expect(packedFiles).toContain(`dist/assets/${name}/index.mjs`);
    }
    const strays = packedFiles.filter(
      (f) =>
        /^(test|scripts|\.ci|lib|lambda|cli|client|bin|examples|config)\//.test(f) ||
        (/\.ts$/.test(f) && !/\.d\.c?ts$/.test(f)),
    );
    expect(strays).toEqual([]);
  });
});

// tsc over the AWS SDK's declarations and a CDK synth take minutes when the two cores are busy.
describe('a sync job that installs only the client', { timeout: LONG }, () => {
  let dir: string;
  let motoSecretId: string;
  const instanceUrl = 'https://acme.service-now.com';
  const accessToken = `consumer-${randomUUID()}`;
  const expiresAt = new Date(Date.now() + 30 * 60_000).toISOString();

  const job = (syntax: 'esm' | 'cjs') => `${
    syntax === 'esm'
      ? "import { createTokenClient } from 'servicenow-token-refresher/client';\nimport { createHash } from 'node:crypto';"
      : "const { createTokenClient } = require('servicenow-token-refresher/client');\nconst { createHash } = require('node:crypto');"
  }
const tokens = createTokenClient({
  instance: 'acme',
  secretId: process.env.SECRET_ID,
  refresherFunctionName: 'not-called-while-the-token-is-fresh',
  aws: { endpoint: process.env.MOTO, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
});
tokens.getToken({ minValidityMs: 60000 }).then((t) => {
  // The token itself is never printed: its hash proves it is the stored one.
  console.log(JSON.stringify({ sha256: createHash('sha256').update(t.accessToken).digest('hex'), instanceUrl: t.instanceUrl, expiresAt: t.expiresAt }));
});
`;
  const typed = `import { type AccessToken, createTokenClient, TokenClientError } from 'servicenow-token-refresher/client';

export async function authorization(): Promise<string> {
  const tokens = createTokenClient({ instance: 'acme', secretId: 's', refresherFunctionName: 'f' });
  try {
    const token: AccessToken = await tokens.getToken({ minValidityMs: 10 * 60_000 });
    return \`\${token.tokenType} \${token.accessToken}\`;
  } catch (error) {
    if (error instanceof TokenClientError) return error.code;
    throw error;
  }
}
`;
  const tsconfig = (module: string, moduleResolution: string, files: string[]) =>
    JSON.stringify({
      compilerOptions: {
        module,
        moduleResolution,
        target: 'ES2022',
        strict: true,
        noEmit: true,
        // Our declarations are checked like the consumer's own code.
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      files,
    });

  beforeAll(async () => {
    dir = await installedProject(
      join(work, 'sync-job'),
      { name: 'sync-job', version: '1.0.0' },
      {
        'job.mjs': job('esm'),
        'job.cjs': job('cjs'),
        'typed-job.mts': typed,
        'typed-job.cts': typed,
        'typed-job.ts': typed,
        'tsconfig.nodenext.json': tsconfig('NodeNext', 'NodeNext', ['typed-job.mts', 'typed-job.cts']),
        'tsconfig.bundler.json': tsconfig('Preserve', 'Bundler', ['typed-job.ts']),
      },
      [tarball],
    );
    const aws = localAwsConfig();
    const secrets = new SecretsManagerClient(aws);
    const created = await secrets.send(
      new CreateSecretCommand({
        Name: `consumer-${randomUUID()}/access-token`,
        SecretString: JSON.stringify({
          schemaVersion: 1,
          instanceUrl,
          accessToken,
          tokenType: 'Bearer',
          expiresAt,
          refreshedAt: new Date().toISOString(),
        }),
      }),
    );
    motoSecretId = created.ARN ?? '';
  }, LONG);

  it('pulls no aws-cdk-lib, no constructs and none of the CLI or functions dependencies', () => {
    for (const name of [
      'aws-cdk-lib',
      'constructs',
      '@aws-sdk/client-cloudformation',
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-sns',
      '@aws-lambda-powertools/logger',
      'esbuild',
      'tsx',
      'typescript',
    ]) {
      expect(copiesOf(dir, name), name).toEqual([]);
    }
    expect(copiesOf(dir, '@aws-sdk/client-secrets-manager')).toHaveLength(1);
  });

  it.each(['job.mjs', 'job.cjs'])('%s reads the stored token from the emulator', async (file) => {
    const { stdout } = await run('node', [file], dir, {
      SECRET_ID: motoSecretId,
      MOTO: localAwsConfig().endpoint,
    });

    expect(JSON.parse(stdout)).toEqual({
      sha256: sha256(accessToken),
      instanceUrl,
      expiresAt: Date.parse(expiresAt),
    });
  });

  it.each([
    ['NodeNext', 'tsconfig.nodenext.json'],
    ['Bundler', 'tsconfig.bundler.json'],
  ])('type-checks with %s resolution, the declarations included', async (_resolution, config) => {
    const { stdout } = await run('node', [TSC, '-p', config], dir);

    expect(stdout).toBe('');
  });

  it('runs npx snow-token --version and --help from the installed package', async () => {
    const version = await run('npx', ['--no-install', 'snow-token', '--version'], dir);
    const help = await run('npx', ['--no-install', 'snow-token', '--help'], dir);

    expect(version.stdout.trim()).toBe(`snow-token ${PKG.version}`);
    expect(help.stdout).toContain('Usage: snow-token <command> [options]');
  });

  it('runs the installed snow-token on Node.js 24 too', async () => {
    const bin = join(dir, 'node_modules', PKG.name, PKG.bin['snow-token'] ?? '');

    const { stdout } = await run(NODE24, [bin, '--version'], dir);

    expect(stdout.trim()).toBe(`snow-token ${PKG.version}`);
  });
});

describe(`a TypeScript CDK app on aws-cdk-lib ${CDK_FLOOR}`, { timeout: LONG }, () => {
  let dir: string;

  beforeAll(async () => {
    dir = await installedProject(
      join(work, 'cdk-app'),
      // CommonJS, as `cdk init app --language typescript` makes it.
      { name: 'cdk-app', version: '1.0.0' },
      {
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            strict: true,
            outDir: 'build',
            skipLibCheck: true,
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules', '@types')],
          },
          files: ['app.ts'],
        }),
        'app.ts': `import { App, Duration, Stack } from 'aws-cdk-lib';
import { ServiceNowTokenRefresher } from 'servicenow-token-refresher';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
new ServiceNowTokenRefresher(stack, 'ServiceNowTokens', {
  instances: [{ name: 'acme', url: 'https://acme.service-now.com' }],
  alertEmails: ['ops@example.com'],
  refreshAhead: Duration.minutes(10),
});
app.synth();
`,
      },
      [tarball, `aws-cdk-lib@${CDK_FLOOR}`, `constructs@${PKG.devDependencies.constructs}`],
    );
  }, LONG);

  it('shares the app own aws-cdk-lib: one copy, the one the app chose', () => {
    const copies = copiesOf(dir, 'aws-cdk-lib');

    expect(copies).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(copies[0] ?? '', 'package.json'), 'utf8')).version).toBe(CDK_FLOOR);
    expect(copiesOf(dir, 'esbuild')).toEqual([]);
  });

  it('compiles with NodeNext and synthesizes offline with the pre-built functions', async () => {
    const outdir = join(dir, 'cdk.out');

    await run('node', [TSC, '-p', 'tsconfig.json'], dir);
    await run('node', ['build/app.js', outdir], dir);

    const template = JSON.parse(readFileSync(join(outdir, 'Consumer.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const nested = readdirSync(outdir).filter((f) => f.endsWith('.nested.template.json'));
    const functions = [template, ...nested.map((f) => JSON.parse(readFileSync(join(outdir, f), 'utf8')))]
      .flatMap((t: typeof template) => Object.values(t.Resources))
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler');
    expect(functions.map((f) => f.Properties.Runtime)).toEqual(['nodejs24.x', 'nodejs24.x', 'nodejs24.x']);
    const assetDirs = readdirSync(outdir).filter((f) => f.startsWith('asset.'));
    const functionAssets = assetDirs.filter((d) => existsSync(join(outdir, d, 'index.mjs')));
    expect(functionAssets).toHaveLength(3);
    for (const asset of functionAssets) {
      const instances = JSON.parse(readFileSync(join(outdir, asset, 'instances.json'), 'utf8'));
      expect(instances).toEqual([
        expect.objectContaining({ name: 'acme', url: 'https://acme.service-now.com' }),
      ]);
    }
  });

  it('imports the construct as ESM too', async () => {
    const { stdout } = await run(
      'node',
      [
        '--input-type=module',
        '-e',
        "import('servicenow-token-refresher').then((m) => console.log(typeof m.ServiceNowTokenRefresher))",
      ],
      dir,
    );

    expect(stdout.trim()).toBe('function');
  });
});
