import type { ReceivedEmail } from '../../harness/alerting-harness';

const DAY = 86_400_000;

const STYLES = {
  dim: [2, 22],
  bold: [1, 22],
  green: [32, 39],
  yellow: [33, 39],
  red: [31, 39],
  cyan: [36, 39],
  magenta: [35, 39],
} as const;

export type Style = keyof typeof STYLES;

/**
 * Prints the demo's timeline as it happens, stamped with the simulated date and day. Writes
 * through the stream it was given when created, so the fixture's capture of the functions' own
 * log lines does not swallow it. Keeps what it printed, to prove afterwards that no secret value
 * was ever shown.
 */
export class Narrator {
  private readonly printed: string[] = [];

  constructor(
    private readonly write: (text: string) => void,
    private readonly color: boolean,
    private readonly start: number,
    private readonly now: () => number,
  ) {}

  style(text: string, style: Style): string {
    if (!this.color) return text;
    const [on, off] = STYLES[style];
    return `\u001b[${on}m${text}\u001b[${off}m`;
  }

  line(text = ''): void {
    this.printed.push(text);
    this.write(`${text}\n`);
  }

  /** A timeline entry: `2026-01-05 09:00 UTC  day   0.0  <text>`. */
  event(text: string, style?: Style, at?: number): void {
    this.line(`${this.style(this.stamp(at), 'dim')}  ${style ? this.style(text, style) : text}`);
  }

  heading(text: string): void {
    this.line();
    this.line(this.style(`── ${text} `.padEnd(100, '─'), 'bold'));
  }

  /** An email as ops would read it: subject, then the body, indented. */
  email(email: ReceivedEmail): void {
    const severe = email.attributes.severity === 'action-required' && email.attributes.notice !== 'resolved';
    // Stamped when it was sent (the mailbox is read every 15 minutes), as its own body says.
    const sent = /^(?:Sent|Resolved): +(\d{4}-\d\d-\d\d) (\d\d:\d\d) UTC/m.exec(email.body);
    const at = sent ? Date.parse(`${sent[1]}T${sent[2]}:00Z`) : undefined;
    this.event(`✉  ${this.style(email.subject, severe ? 'red' : 'yellow')}`, undefined, at);
    for (const text of email.body.trimEnd().split('\n')) this.line(`${' '.repeat(33)}│ ${text}`);
  }

  /** `2026-04-15 09:00 UTC` */
  date(at: number): string {
    const iso = new Date(at).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  }

  stamp(at = this.now()): string {
    const day = ((at - this.start) / DAY).toFixed(1).padStart(5);
    return `${this.date(at)}  day ${day}`;
  }

  /** Every line printed so far. */
  text(): string {
    return this.printed.join('\n');
  }
}

/** Colours only for a person at a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function wantsColor(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}
