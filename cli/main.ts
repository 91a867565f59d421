import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
// Inlined by the build (esbuild keeps only this field); read from the file when run from source.
import { version as PACKAGE_VERSION } from '../package.json';
import { COMMON_OPTIONS, type Command, type OptionSpecs } from './command';
import { COMMANDS, findCommand } from './command-table';
import { createCliContext } from './context';
import { resolveDeployment } from './deployment';
import { CliError, EXIT, type ExitCode, explainAwsError } from './errors';
import { commandHelp, overviewHelp } from './help';
import { processTerminal, type Terminal } from './terminal';

const FORBIDDEN_OPTION = /^--?(password|pass|pwd|client-secret|secret)(=.*)?$/i;

export interface Dependencies {
  readonly terminal: Terminal;
  readonly cwd: string;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function main(
  argv: readonly string[],
  deps: Dependencies = { terminal: processTerminal(), cwd: process.cwd() },
): Promise<ExitCode> {
  const { terminal } = deps;
  try {
    return await run(argv, deps);
  } catch (error) {
    const explained = error instanceof CliError ? error : explainAwsError(error);
    if (explained) {
      terminal.err(`snow-token: ${explained.message}`);
      return explained.exitCode;
    }
    terminal.err(`snow-token: unexpected error: ${(error as Error).message ?? String(error)}`);
    return EXIT.failed;
  }
}

async function run(argv: readonly string[], deps: Dependencies): Promise<ExitCode> {
  const { terminal } = deps;
  const refused = argv.find((a) => FORBIDDEN_OPTION.test(a));
  if (refused) {
    throw new CliError(
      `${refused.split('=')[0]} is not accepted: secrets on the command line end up in shell history and process lists. Answer the hidden prompt, or use --password-stdin.`,
      EXIT.usage,
    );
  }
  const { values, positionals, tokens } = parse(argv);
  const [name = '', operand, ...extra] = positionals;
  if (values.version) {
    terminal.out(`snow-token ${PACKAGE_VERSION}`);
    return EXIT.ok;
  }
  if (name === '' || (name === 'help' && operand === undefined)) {
    terminal.out(overviewHelp(COMMANDS));
    return name === '' && !values.help ? EXIT.usage : EXIT.ok;
  }
  const command = commandNamed(name === 'help' ? (operand ?? '') : name);
  if (values.help || name === 'help') {
    terminal.out(commandHelp(command));
    return EXIT.ok;
  }
  const foreign = tokens.find(
    (token) => token.kind === 'option' && !(token.name in COMMON_OPTIONS || token.name in command.options),
  );
  if (foreign?.kind === 'option') {
    throw new CliError(
      `${foreign.rawName.split('=')[0]} is not an option of "snow-token ${command.name}". See "snow-token ${command.name} --help".`,
      EXIT.usage,
    );
  }
  if (extra.length || (!command.operand && operand !== undefined)) {
    // Never echoed: an extra argument is often a password typed in the wrong place.
    throw new CliError(
      `Unexpected extra argument (${extra.length || 1}, not shown). See "snow-token ${command.name} --help".`,
      EXIT.usage,
    );
  }
  if (command.operand && !operand) {
    throw new CliError(`Name the instance: snow-token ${command.name} ${command.operand}.`, EXIT.usage);
  }
  const text = (option: 'config' | 'deployment' | 'stack' | 'region' | 'profile') => {
    const value = values[option];
    return typeof value === 'string' ? value : undefined;
  };
  const profile = text('profile');
  if (profile) process.env.AWS_PROFILE = profile;

  const deployment = await resolveDeployment(
    {
      config: text('config'),
      deployment: text('deployment'),
      stack: text('stack'),
      region: text('region'),
      cwd: deps.cwd,
    },
    (region) => new CloudFormationClient({ maxAttempts: 3, ...(region && { region }) }),
  );
  const region = text('region') ?? deployment.region;
  const ctx = createCliContext(deployment, terminal, values.json === true, {
    maxAttempts: 3,
    ...(region && { region }),
  });
  return command.run(ctx, operand, values);
}

function commandNamed(name: string): Command {
  const command = findCommand(name);
  if (!command) {
    throw new CliError(
      `Unknown command "${name}"; the commands are: ${COMMANDS.map((c) => c.name).join(', ')}. See "snow-token --help".`,
      EXIT.usage,
    );
  }
  return command;
}

/** Every option of every command: which belong to the command named is checked once it is known. */
const PARSER_OPTIONS = Object.fromEntries(
  [COMMON_OPTIONS, ...COMMANDS.map((c) => c.options)].flatMap((options: OptionSpecs) =>
    Object.entries(options).map(([name, { type, short }]) => [name, short ? { type, short } : { type }]),
  ),
);

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: PARSER_OPTIONS,
    });
  } catch (error) {
    // parseArgs quotes the option as typed: never show a value given with it.
    const message = (error as Error).message.replace(/=[^'"\s]*/g, '=...');
    throw new CliError(`${message}. See "snow-token --help".`, EXIT.usage);
  }
}
