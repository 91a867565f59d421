import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors';
import { main } from '../../cli/main';
import { recordingTerminal } from '../../harness/recording-terminal';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

describe('snow-token --version', () => {
  it("prints the package's version and exits 0, with no deployment to find", async () => {
    const { terminal, out, err } = recordingTerminal();

    const code = await main(['--version'], { terminal, cwd: '/nonexistent' });

    expect(code).toBe(EXIT.ok);
    expect(out).toEqual([`snow-token ${PACKAGE_VERSION}`]);
    expect(err).toEqual([]);
  });

  it('is listed in the help', async () => {
    const { terminal, out } = recordingTerminal();

    await main(['--help'], { terminal, cwd: '/nonexistent' });

    expect(out.join('\n')).toMatch(/--version\s+print the version/);
  });
});
