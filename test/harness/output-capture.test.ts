import { describe, expect, it } from 'vitest';
import { OutputCapture } from '../../harness/output-capture';

describe('OutputCapture.recentLines', () => {
  it('returns the last lines that mention the needle, oldest first, across writes', () => {
    const capture = new OutputCapture().start();
    try {
      process.stdout.write('{"instance":"acme","n":1}\n{"instance":"globex","n":2}\n');
      process.stdout.write('{"instance":"acme","n":3}\n');
      process.stdout.write('{"instance":"acme","n":4}\n{"instance":"acme","n":5}\n');
    } finally {
      capture.stop();
    }

    expect(capture.recentLines('"instance":"acme"', 3)).toEqual([
      '{"instance":"acme","n":3}',
      '{"instance":"acme","n":4}',
      '{"instance":"acme","n":5}',
    ]);
    expect(capture.recentLines('"instance":"globex"', 5)).toEqual(['{"instance":"globex","n":2}']);
  });
});
