/**
 * The package as a user gets it: packed by npm (prepack runs the build) and installed into projects
 * outside this repository. Used by the consumer test and the bench's install-size figures.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..');
const LONG_MS = 15 * 60_000;
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** No node_modules/.bin of this repository on PATH, no npm_* variables: the consumer has only what it installed. */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.startsWith(ROOT))
    .join(delimiter);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('npm_') || key === 'NODE_OPTIONS') delete env[key];
  return env;
}

/** Runs a command as the consumer would; a failure carries its output. */
export async function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  extra: Record<string, string> = {},
) {
  try {
    return await execFileAsync(cmd, [...args], {
      cwd,
      env: consumerEnv(extra),
      timeout: LONG_MS,
      maxBuffer: 64 << 20,
    });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`,
    );
  }
}

export interface PackedPackage {
  readonly tarball: string;
  /** Paths inside the package, as npm lists them. */
  readonly files: readonly string[];
}

/** `npm pack` from nothing: dist/ is removed first, so the tarball holds only what prepack built. */
export async function packPackage(destination: string): Promise<PackedPackage> {
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], ROOT);
  const [info] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!info) throw new Error(`npm pack printed no package:\n${stdout}`);
  return { tarball: join(destination, info.filename), files: info.files.map((f) => f.path) };
}

/** A fresh project with the given files and `npm install <specs>` done (npm's cache first). */
export async function installedProject(
  dir: string,
  packageJson: Record<string, unknown>,
  files: Record<string, string>,
  specs: readonly string[],
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, ...packageJson }, null, 2));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  await run('npm', [...NPM_INSTALL, ...specs], dir);
  return dir;
}

/** Every directory in a project's node_modules tree that holds a copy of package `name`. */
export function copiesOf(projectDir: string, name: string): string[] {
  const found: string[] = [];
  const walk = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((e) => `${entry}/${e}`)
        : [entry];
      for (const pkgName of names) {
        if (pkgName === name) found.push(join(modules, pkgName));
        walk(join(modules, pkgName, 'node_modules'));
      }
    }
  };
  walk(join(projectDir, 'node_modules'));
  return found;
}

/** Bytes and package count of a project's node_modules (files only, symlinks not followed). */
export function installedSize(projectDir: string): { bytes: number; packages: number } {
  let bytes = 0;
  let packages = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        bytes += statSync(path).size;
        if (/node_modules\/(@[^/]+\/)?[^/@][^/]*\/package\.json$/.test(path)) packages++;
      }
    }
  };
  walk(join(projectDir, 'node_modules'));
  return { bytes, packages };
}
