import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError, EXIT } from './errors';

export interface Terminal {
  readonly interactive: boolean;
  readonly colour: boolean;
  out(text: string): void;
  err(text: string): void;
  ask(question: string, options: { readonly hidden: boolean }): Promise<string>;
  /** All of standard input, for --password-stdin. */
  readAllInput(): Promise<string>;
}

/** The real terminal: prompts on stderr, answers from a TTY in raw mode (hidden ones never echoed). */
export function processTerminal(): Terminal {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return {
    interactive,
    colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    ask: (question, options) => {
      if (!interactive) {
        return Promise.reject(
          new CliError(
            'No terminal to ask on. Run this in a terminal, or pipe the password in with --password-stdin.',
            EXIT.usage,
          ),
        );
      }
      return askOnTty(question, options.hidden);
    },
    readAllInput: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/**
 * One answer with real line editing (node:readline): arrows, Home/End, backspace, Ctrl-U, Ctrl-W,
 * as in a shell. A hidden answer's editing is drawn on a stream that writes nowhere, so not one
 * character of it reaches the screen; no answer is kept in a history.
 */
function askOnTty(question: string, hidden: boolean): Promise<string> {
  const output = hidden
    ? new Writable({
        write: (_chunk, _encoding, done) => done(),
      })
    : process.stderr;
  if (hidden) process.stderr.write(question);
  // node:readline drops to a mode without editing on TERM=dumb, where Ctrl-U and backspace become
  // bytes of the answer (a password ServiceNow then refuses). A wrong answer costs more than a few
  // stray redraw codes on such a terminal (and a hidden answer draws nothing at all): edit anyway.
  const term = process.env.TERM;
  if (term === 'dumb') delete process.env.TERM;
  const rl = createInterface({ input: process.stdin, output, terminal: true, historySize: 0 });
  if (term !== undefined) process.env.TERM = term;
  return new Promise((resolve, reject) => {
    let answered = false;
    const finish = (error?: Error, answer = '') => {
      answered = true;
      rl.close();
      if (hidden) process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    rl.on('SIGINT', () => finish(new CliError('Interrupted; nothing was stored.', EXIT.interrupted)));
    // Ctrl-D on an empty line closes the input: no answer is coming.
    rl.on('close', () => {
      if (!answered) {
        answered = true;
        reject(new CliError('Interrupted; nothing was stored.', EXIT.interrupted));
      }
    });
    rl.question(hidden ? '' : question, (answer) => finish(undefined, answer));
  });
}

const CODES = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;

export function paint(terminal: Pick<Terminal, 'colour'>, colour: keyof typeof CODES, text: string): string {
  return terminal.colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/** A plain text table, columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => stripAnsi(r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - stripAnsi(cell).length)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC
  return text.replace(/\u001b\[\d+m/g, '');
}
