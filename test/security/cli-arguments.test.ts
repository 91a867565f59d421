import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors';
import { main } from '../../cli/main';
import { recordingTerminal } from '../../harness/recording-terminal';
import { FUZZ_SEED, reportCases } from '../fuzz/fuzz-figures';

const SECRET = 'Pw-do-not-echo-8b1f';
let cases = 0;
afterAll(() => reportCases('CLI arguments (main, with secret options mixed in)', cases));

describe('the CLI on the command line', () => {
  it.each([
    ['renew', 'acme', `--password=${SECRET}`],
    ['bootstrap', 'acme', '--password', SECRET],
    ['bootstrap', 'acme', `--client-secret=${SECRET}`],
    ['renew', 'acme', `-pwd=${SECRET}`],
  ])('refuses a secret given as an argument and never repeats it: %s %s %s', async (...argv) => {
    const { terminal, said } = recordingTerminal();

    const code = await main(argv, { terminal, cwd: '/nonexistent' });

    expect(code).toBe(EXIT.usage);
    expect(said.join('\n')).not.toContain(SECRET);
  });

  it('refuses every command line that carries a secret option, wherever it stands, without echoing the value', async () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcz-=_./ 0'.split('')), maxLength: 12 });
    const secretOption = fc.constantFrom(
      '--password',
      '--pass',
      '--pwd',
      '--client-secret',
      '--secret',
      '-password',
      '--PASSWORD',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(word, fc.constantFrom('renew', 'bootstrap', 'status', 'doctor', 'acme', '--help')),
          { maxLength: 5 },
        ),
        secretOption,
        fc.nat(),
        fc.boolean(),
        async (words, option, position, inline) => {
          cases++;
          const argv = [...words];
          argv.splice(position % (argv.length + 1), 0, inline ? `${option}=${SECRET}` : option);
          const { terminal, said } = recordingTerminal();

          const code = await main(argv, { terminal, cwd: '/nonexistent' });

          expect(code).toBe(EXIT.usage);
          expect(said.join('\n')).not.toContain(SECRET);
        },
      ),
      { numRuns: 300, seed: FUZZ_SEED },
    );
  });

  it('answers any other command line with an exit code, never an exception', async () => {
    const arg = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('--help', 'help', 'status', '--instance', '--password-stdin', '--', '-', '--client-id'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(arg, { maxLength: 6 }), async (argv) => {
        cases++;
        const { terminal } = recordingTerminal();
        // Commands that would reach AWS are stopped before it: no deployment is found from this cwd.
        const code = await main(argv, { terminal, cwd: '/nonexistent' }).catch((error: unknown) => error);
        expect(Object.values(EXIT)).toContain(code);
      }),
      { numRuns: 300, seed: FUZZ_SEED + 1 },
    );
  }, 60_000);
});
