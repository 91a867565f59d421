/**
 * Collects everything written to stdout and stderr (where Powertools' logger writes) while active,
 * so tests can read the structured logs and scan them for secret values.
 */
export class OutputCapture {
  private chunks: string[] = [];
  private restorers: (() => void)[] = [];

  start(): this {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }) as typeof stream.write;
      this.restorers.push(() => {
        stream.write = original;
      });
    }
    return this;
  }

  text(): string {
    return this.chunks.join('');
  }

  /** The last `count` lines that contain `needle`, oldest first: context for a failure. */
  recentLines(needle: string, count: number): string[] {
    const found: string[] = [];
    for (let i = this.chunks.length - 1; i >= 0 && found.length < count; i--) {
      const lines = (this.chunks[i] ?? '').split('\n').filter((line) => line.includes(needle));
      found.unshift(...lines.slice(-(count - found.length)));
    }
    return found;
  }

  /** Parsed JSON log lines (Powertools writes one object per line). */
  records(): Record<string, unknown>[] {
    return this.text()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  stop(): void {
    for (const restore of this.restorers.splice(0)) restore();
  }
}
