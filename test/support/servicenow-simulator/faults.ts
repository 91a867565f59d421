import { JSON_UTF8, type SimResponse, statusEnvelope } from './responses';
import type { Fault, FaultRule } from './types';

interface ActiveRule {
  readonly fault: Fault;
  readonly path: string;
  remaining: number;
}

function validate(rule: FaultRule): void {
  const { fault } = rule;
  const times = rule.times ?? 1;
  if (!(times > 0)) throw new Error(`Fault rule times must be a positive number or Infinity, got ${times}.`);
  if (fault.kind === 'latency' && !(fault.ms >= 0)) {
    throw new Error(`Latency fault ms must be >= 0, got ${fault.ms}.`);
  }
  if (fault.kind === 'slow-body' && (!(fault.chunkDelayMs >= 0) || !((fault.chunkBytes ?? 16) >= 1))) {
    throw new Error(
      'Slow-body fault needs chunkDelayMs >= 0 and chunkBytes >= 1, e.g. { chunkDelayMs: 50 }.',
    );
  }
  if (fault.kind === 'huge-body' && !(Number.isInteger(fault.bytes) && fault.bytes >= 2)) {
    throw new Error(`Huge-body fault bytes must be an integer >= 2, got ${fault.bytes}.`);
  }
  if (
    fault.kind === 'status' &&
    !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)
  ) {
    throw new Error(`Status fault status must be an HTTP status 100-599, got ${fault.status}.`);
  }
}

/** The injected faults of one instance, applied in the order added. */
export class FaultBook {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): void {
    validate(rule);
    this.rules.push({ fault: rule.fault, path: rule.path ?? '/', remaining: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule matching `pathname` with uses left, consumed once. */
  take(pathname: string): Fault | undefined {
    const rule = this.rules.find(
      (candidate) => candidate.remaining > 0 && pathname.startsWith(candidate.path),
    );
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules = this.rules.filter((candidate) => candidate !== rule);
    return rule.fault;
  }
}

/** A valid JSON document of exactly `bytes` bytes. */
export function hugeJsonBody(bytes: number): Buffer {
  const prefix = '{"padding":"';
  const suffix = '"}';
  if (bytes < prefix.length + suffix.length) return Buffer.from(`{}${' '.repeat(bytes - 2)}`);
  const body = Buffer.alloc(bytes, 'x');
  body.write(prefix, 0);
  body.write(suffix, bytes - suffix.length);
  return body;
}

/** The answer of a fault that replaces the instance's own answer. */
export function replacementResponse(
  fault: Extract<Fault, { kind: 'status' | 'non-json' | 'huge-body' }>,
): SimResponse {
  const result = `fault:${fault.kind}`;
  switch (fault.kind) {
    case 'status': {
      if (fault.body === undefined) {
        const envelope = statusEnvelope(fault.status, result);
        return fault.contentType === undefined
          ? envelope
          : { ...envelope, headers: { 'Content-Type': fault.contentType } };
      }
      return {
        status: fault.status,
        headers: { 'Content-Type': fault.contentType ?? JSON_UTF8 },
        body: fault.body,
        result,
      };
    }
    case 'non-json':
      return {
        status: 200,
        headers: { 'Content-Type': JSON_UTF8 },
        body: '<html><body>Service temporarily unavailable</body></html>',
        result,
      };
    case 'huge-body':
      return { status: 200, headers: { 'Content-Type': JSON_UTF8 }, body: hugeJsonBody(fault.bytes), result };
  }
}
