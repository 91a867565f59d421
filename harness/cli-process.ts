import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localAwsConfig } from './local-aws/aws-env';

const ROOT = join(import.meta.dirname, '..');
export const SNOW_TOKEN_BIN = join(ROOT, 'bin', 'snow-token.mjs');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment an operator's shell would give the CLI: the local AWS emulator, nothing else. */
export function cliEnvironment(home: string): NodeJS.ProcessEnv {
  const aws = localAwsConfig();
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Runs `snow-token` with standard input piped. */
export function runCli(args: readonly string[], cwd: string, stdin = ''): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SNOW_TOKEN_BIN, ...args], { cwd, env: cliEnvironment(cwd) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.end(stdin);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `snow-token` in a pseudo-terminal (util-linux `script`), TERM=dumb: what a person's shell starts. */
export function spawnOnTerminal(args: readonly string[], cwd: string): ChildProcessWithoutNullStreams {
  const command = [process.execPath, SNOW_TOKEN_BIN, ...args].map((a) => `'${a}'`).join(' ');
  return spawn('script', ['-qfec', command, '/dev/null'], {
    cwd,
    env: { ...cliEnvironment(cwd), TERM: 'dumb' },
  });
}

/**
 * A `--deployment` file for the fixture's instances and state table: the CLI's view of a
 * deployment, with no topic or function it could reach. Returns its path.
 */
export function writeDeploymentFile(
  dir: string,
  fixture: { instance(): { config: unknown }; aws: { tableName: string } },
  extra: Record<string, unknown> = {},
): string {
  const path = join(dir, 'deployment.json');
  writeFileSync(
    path,
    JSON.stringify({
      instances: [fixture.instance().config],
      stateTableName: fixture.aws.tableName,
      alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:not-used-here',
      refresherFunctionName: 'not-invocable-here',
      ...extra,
    }),
  );
  return path;
}

/**
 * Runs `snow-token` in a pseudo-terminal (util-linux `script`), typing each answer when its prompt
 * appears. `whileRunning` is called once after the last answer is typed, while the CLI still runs
 * (the caller slows ServiceNow down to make room): e.g. to look at every process's argv and environment.
 */
export function runCliOnTerminal(
  args: readonly string[],
  cwd: string,
  answers: readonly [RegExp, string][],
  whileRunning?: () => void,
): Promise<CliRun & { screen: string }> {
  return new Promise((resolve) => {
    const child = spawnOnTerminal(args, cwd);
    let screen = '';
    const pending = [...answers];
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      const next = pending[0];
      if (next?.[0].test(screen)) {
        pending.shift();
        setTimeout(() => {
          child.stdin.write(next[1]);
          if (pending.length === 0 && whileRunning) setTimeout(whileRunning, 400);
        }, 50);
      }
    });
    child.on('close', (code) => resolve({ code, stdout: screen, stderr: '', screen }));
  });
}

/** The command line and environment of every process this user can read. */
export function everyProcessArgvAndEnvironment(): string {
  const parts: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    for (const file of ['cmdline', 'environ']) {
      try {
        parts.push(readFileSync(join('/proc', pid, file), 'latin1'));
      } catch {
        // Gone, or another user's: not ours to read.
      }
    }
  }
  return parts.join('\n');
}

/** Every file under a folder, as text, to look for values that must never be written to disk. */
export function everyFileUnder(dir: string): string {
  const parts: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) parts.push(readFileSync(join(entry.parentPath, entry.name), 'latin1'));
  }
  return parts.join('\n');
}
