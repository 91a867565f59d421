import type { InstanceConfig } from '../lambda/shared/instance-config';
import type { CliContext } from './context';
import { findInstance } from './deployment';
import type { ExitCode } from './errors';

/** One command-line option, as node:util parseArgs takes it, with what the help says of it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** String options: the value's placeholder in the help, e.g. "<id>". */
  readonly value?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed values of a command's own options: a string or a flag each, absent when not given. */
export type OptionValues<O extends OptionSpecs> = {
  readonly [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

/** What the parser hands a command: every option given, by name. */
export type ParsedValues = Readonly<Record<string, string | boolean | undefined>>;

/** One entry of the command table: main.ts parses, checks, explains (--help) and runs commands from it alone. */
export interface Command {
  readonly name: string;
  /** The one positional argument, if the command takes it (always required then). */
  readonly operand?: '<instance>';
  /** One line for the command list. */
  readonly summary: string;
  /** What the command's --help says beyond its usage line and options: behaviour, defaults, what is never stored. */
  readonly description?: string;
  /** The command's own options; those for every command are in COMMON_OPTIONS. */
  readonly options: OptionSpecs;
  run(ctx: CliContext, operand: string | undefined, values: ParsedValues): Promise<ExitCode>;
}

interface CommandSpec<O extends OptionSpecs> {
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly options: O;
}

/** A command about one instance of the deployment: `snow-token <name> <instance> [options]`. */
export function instanceCommand<const O extends OptionSpecs>(
  spec: CommandSpec<O> & {
    run(ctx: CliContext, instance: InstanceConfig, options: OptionValues<O>): Promise<ExitCode>;
  },
): Command {
  return {
    ...spec,
    operand: '<instance>',
    // The values come from parseArgs with these very option specs (main.ts checks every name).
    run: (ctx, operand, values) =>
      spec.run(ctx, findInstance(ctx.deployment, operand), values as OptionValues<O>),
  };
}

/** A command about the whole deployment: `snow-token <name> [options]`. */
export function deploymentCommand<const O extends OptionSpecs>(
  spec: CommandSpec<O> & { run(ctx: CliContext, options: OptionValues<O>): Promise<ExitCode> },
): Command {
  return { ...spec, run: (ctx, _operand, values) => spec.run(ctx, values as OptionValues<O>) };
}

/** Options every command takes: where the deployment is, which AWS account, how to answer. */
export const COMMON_OPTIONS = {
  config: {
    type: 'string',
    value: '<file>',
    help: 'deployment configuration (default: the one cdk.json names)',
  },
  deployment: {
    type: 'string',
    value: '<file>',
    help: 'a deployment written out in full, instead of --config and the stack outputs',
  },
  stack: {
    type: 'string',
    value: '<name>',
    help: "the stack the command is meant for; refused if the configuration is another's",
  },
  region: {
    type: 'string',
    value: '<code>',
    help: 'AWS region (default: the configuration\'s "region", else AWS_REGION / your profile)',
  },
  profile: { type: 'string', value: '<name>', help: 'AWS profile (default: AWS_PROFILE)' },
  json: { type: 'boolean', help: 'machine-readable output where the output is data' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
  version: { type: 'boolean', help: 'print the version of snow-token and exit' },
} as const satisfies OptionSpecs;
