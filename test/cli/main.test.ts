import { describe, expect, it } from 'vitest';
import { COMMON_OPTIONS } from '../../cli/command';
import { COMMANDS } from '../../cli/command-table';
import { EXIT } from '../../cli/errors';
import { main } from '../../cli/main';
import { recordingTerminal } from '../../harness/recording-terminal';

// No deployment can be found from here: a command line that got past dispatch would exit 3 (environment).
const run = async (...argv: string[]) => {
  const { terminal, out, err } = recordingTerminal();
  const code = await main(argv, { terminal, cwd: '/nonexistent' });
  return { code, out: out.join('\n'), err: err.join('\n') };
};

const NAMES = COMMANDS.map((c) => c.name);

describe('snow-token dispatch: every command comes from the command table', () => {
  it.each([
    ['an unknown command', ['nonsense']],
    ['an unknown command with --help', ['nonsense', '--help']],
    ['help for an unknown command', ['help', 'nonsense']],
    ['an unknown command with an instance', ['refesh', 'acme']],
  ])('refuses %s with a usage error that lists the commands, and runs nothing', async (_case, argv) => {
    const result = await run(...argv);

    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toMatch(/Unknown command "(nonsense|refesh)"; the commands are: /);
    for (const name of NAMES) expect(result.err).toContain(name);
    expect(result.out).toBe('');
  });

  it('shows the overview and exits 2 without a command, 0 when help is asked for', async () => {
    const bare = await run();
    const asked = await run('--help');
    const word = await run('help');

    expect(bare.code).toBe(EXIT.usage);
    expect(asked.code).toBe(EXIT.ok);
    expect(word.code).toBe(EXIT.ok);
    expect(bare.out).toBe(asked.out);
    expect(word.out).toBe(asked.out);
  });

  it('lists every command of the table in the overview, each with its summary', async () => {
    const { out } = await run('--help');

    for (const command of COMMANDS) {
      expect(command.summary.trim()).not.toBe('');
      expect(out).toMatch(
        new RegExp(
          `^ {2}${command.name}${command.operand ? ` ${command.operand}` : ''} +${literal(command.summary)}$`,
          'm',
        ),
      );
    }
  });

  it('has one entry per command name', () => {
    expect(new Set(NAMES).size).toBe(NAMES.length);
  });

  it('gives no option two meanings: the parser reads every command line with all of them', () => {
    const types = new Map<string, string>(Object.entries(COMMON_OPTIONS).map(([name, o]) => [name, o.type]));
    for (const command of COMMANDS) {
      for (const [name, option] of Object.entries(command.options)) {
        expect(name in COMMON_OPTIONS, `${command.name} --${name} shadows an option of every command`).toBe(
          false,
        );
        expect(types.get(name) ?? option.type, `${command.name} --${name}`).toBe(option.type);
        types.set(name, option.type);
      }
    }
  });

  describe.each(COMMANDS.map((c) => [c.name, c] as const))('snow-token %s --help', (name, command) => {
    it('prints its usage, its own options and those of every command, and exits 0', async () => {
      const result = await run(name, '--help');

      expect(result.code).toBe(EXIT.ok);
      expect(result.out).toMatch(
        new RegExp(`^Usage: snow-token ${name}${command.operand ? ` ${command.operand}` : ''} `),
      );
      for (const option of [...Object.keys(command.options), ...Object.keys(COMMON_OPTIONS)]) {
        expect(result.out).toMatch(new RegExp(`^ {2}(-\\w, )?--${option}\\b`, 'm'));
      }
      expect(result.err).toBe('');
    });

    it('says the same to "snow-token help <command>" and to -h', async () => {
      const flag = await run(name, '--help');

      expect((await run('help', name)).out).toBe(flag.out);
      expect((await run(name, '-h')).out).toBe(flag.out);
    });
  });

  it("refuses another command's option by its name, without its value", async () => {
    const result = await run('status', '--grant=Hunter2-typed-here');

    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toMatch(
      /--grant is not an option of "snow-token status"\. See "snow-token status --help"/,
    );
    expect(result.err).not.toContain('Hunter2');
  });

  it('asks for the instance of a command that needs one, before looking for a deployment', async () => {
    const result = await run('doctor');

    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toMatch(/Name the instance: snow-token doctor <instance>/);
  });

  it('reaches the deployment lookup for a known command (exit 3 here, where there is none)', async () => {
    const result = await run('status');

    expect(result.code).toBe(EXIT.environment);
  });
});

/** The text as a regular expression that matches it literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
