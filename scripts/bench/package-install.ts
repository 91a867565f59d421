import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copiesOf, installedProject, installedSize, packPackage } from '../../harness/package-install';

export interface PackageMeasure {
  /** node_modules of a project that installed the packed tarball and nothing else (a sync job). */
  readonly clientOnlyBytes: number;
  readonly clientOnlyPackages: number;
  readonly clientOnlyHasCdk: boolean;
  /** `snow-token --version` from that install, and `node -e 0`, each the median of `samples` runs. */
  readonly cliStartMs: number;
  readonly nodeStartMs: number;
  readonly samples: number;
}

function medianStartMs(args: readonly string[], samples: number): number {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(samples / 2)] ?? Number.NaN;
}

/** Packs the package as npm publish would, installs it alone, and times the installed CLI's start. */
export async function measurePackage(samples = 7): Promise<PackageMeasure> {
  const work = mkdtempSync(join(tmpdir(), 'bench-package-'));
  try {
    const { tarball } = await packPackage(work);
    const dir = await installedProject(join(work, 'sync-job'), { name: 'sync-job', version: '1.0.0' }, {}, [
      tarball,
    ]);
    const size = installedSize(dir);
    const bin = join(dir, 'node_modules', 'servicenow-token-refresher', 'dist', 'cli', 'snow-token.mjs');
    return {
      clientOnlyBytes: size.bytes,
      clientOnlyPackages: size.packages,
      clientOnlyHasCdk: copiesOf(dir, 'aws-cdk-lib').length > 0,
      cliStartMs: medianStartMs([bin, '--version'], samples),
      nodeStartMs: medianStartMs(['-e', '0'], samples),
      samples,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
