import { COMMON_OPTIONS, type Command, type OptionSpecs } from './command';

const EXIT_CODES =
  'Exit codes: 0 ok, 1 the operation failed, 2 wrong usage, 3 deployment or AWS access problem, 130 interrupted.';

/** `snow-token --help`: every command of the table with its summary, then the options they share. */
export function overviewHelp(commands: readonly Command[]): string {
  return [
    'snow-token: keep ServiceNow OAuth tokens for your integrations fresh',
    '',
    'Usage: snow-token <command> [options]',
    '',
    'Commands:',
    columns(commands.map((c) => [synopsis(c), c.summary])),
    '',
    'Run "snow-token <command> --help" for a command\'s options.',
    EXIT_CODES,
    '',
    commonOptionsHelp(),
  ].join('\n');
}

/** `snow-token <command> --help`: its usage line, what it does, its options, then the shared ones. */
export function commandHelp(command: Command): string {
  const own = Object.keys(command.options).length > 0;
  return [
    `Usage: snow-token ${synopsis(command)} [options]`,
    '',
    command.description ?? `${capitalised(command.summary)}.`,
    '',
    ...(own ? ['Options:', optionList(command.options), ''] : []),
    commonOptionsHelp(),
  ].join('\n');
}

function commonOptionsHelp(): string {
  return `Options for every command:\n${optionList(COMMON_OPTIONS)}`;
}

function synopsis(command: Command): string {
  return command.operand ? `${command.name} ${command.operand}` : command.name;
}

function optionList(options: OptionSpecs): string {
  return columns(
    Object.entries(options).map(([name, option]) => [
      `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`,
      option.help,
    ]),
  );
}

/** Two columns: the first padded to its widest cell, indented as help texts are. */
function columns(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`).join('\n');
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
