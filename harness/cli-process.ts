import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localAwsConfig } from './local-aws/aws-env';
import { RefresherFixture } from './refresher-fixture';
import { VirtualClock } from './virtual-clock';

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

export interface CliOptions {
  /** Standard input (piped), e.g. the answers of --password-stdin. */
  readonly stdin?: string;
  /** Instead of cliEnvironment(cwd). */
  readonly env?: NodeJS.ProcessEnv;
  /** Called with all of standard output so far, each time more arrives. */
  readonly onOutput?: (stdout: string) => void;
}

/** Runs `snow-token` with standard input piped. */
export function runCli(args: readonly string[], cwd: string, options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SNOW_TOKEN_BIN, ...args], {
      cwd,
      env: options.env ?? cliEnvironment(cwd),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onOutput?.(stdout);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.end(options.stdin ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `snow-token bootstrap|renew <instance> --client-id <id> --username <name> --password-stdin`, the
 * client secret (the registry's, unless another is given) and the password piped in, as a script
 * would run it; `extra` arguments go last.
 */
export function runPipedPasswordGrant(
  command: 'bootstrap' | 'renew',
  deploymentFile: string,
  cwd: string,
  instance: {
    readonly config: { readonly name: string };
    readonly registry: { readonly clientId: string; readonly clientSecret: string };
    readonly username: string;
    readonly password: string;
  },
  options: { readonly extra?: readonly string[]; readonly clientSecret?: string } = {},
): Promise<CliRun> {
  return runCli(
    [
      command,
      instance.config.name,
      '--deployment',
      deploymentFile,
      '--client-id',
      instance.registry.clientId,
      '--username',
      instance.username,
      '--password-stdin',
      ...(options.extra ?? []),
    ],
    cwd,
    { stdin: `${options.clientSecret ?? instance.registry.clientSecret}\n${instance.password}\n` },
  );
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
 * What a CLI test runs against: the simulator and the emulator (a fixture on a clock that runs at
 * real speed, as a subprocess lives on real time), a new work folder, and its --deployment file.
 */
export async function createCliWorkspace(name: string, extra: Record<string, unknown> = {}) {
  const workDir = mkdtempSync(join(tmpdir(), `snow-token-${name}-`));
  const fixture = await RefresherFixture.create({ clock: new VirtualClock(Date.now()) });
  return { workDir, fixture, deploymentFile: writeDeploymentFile(workDir, fixture, extra) };
}

/**
 * Runs `snow-token` in a pseudo-terminal (util-linux `script`), typing each answer when its prompt
 * appears: a string at once, a list of keys one at a time as a person types them (a terminal sends
 * each key, an arrow's whole escape sequence, as one write). `whileRunning` is called once after
 * the last answer is typed, while the CLI still runs (the caller slows ServiceNow down to make
 * room): e.g. to look at every process's argv and environment.
 */
export function runCliOnTerminal(
  args: readonly string[],
  cwd: string,
  answers: readonly [RegExp, string | readonly string[]][],
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
        const last = pending.length === 0;
        const typed = () => {
          if (last && whileRunning) setTimeout(whileRunning, 400);
        };
        const answer = next[1];
        if (typeof answer === 'string') {
          setTimeout(() => {
            child.stdin.write(answer);
            typed();
          }, 50);
        } else {
          const keys = [...answer];
          const typing = setInterval(() => {
            const key = keys.shift();
            if (key !== undefined) child.stdin.write(key);
            else {
              clearInterval(typing);
              typed();
            }
          }, 40);
        }
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
