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

function askOnTty(question: string, hidden: boolean): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\u0003' || char === '\u0004') {
          finish(new CliError('Interrupted; nothing was stored.', EXIT.interrupted));
          return;
        }
        if (char === '\r' || char === '\n') {
          finish();
          return;
        }
        if (char === '\u007f' || char === '\b') {
          if (answer.length > 0) {
            answer = answer.slice(0, -1);
            if (!hidden) process.stderr.write('\b \b');
          }
          continue;
        }
        answer += char;
        if (!hidden) process.stderr.write(char);
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
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
