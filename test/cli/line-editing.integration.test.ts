import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliWorkspace, runCliOnTerminal, runPipedPasswordGrant } from '../../harness/cli-process';
import type { RefresherFixture } from '../../harness/refresher-fixture';

const LEFT = '\u001b[D';
const RIGHT = '\u001b[C';
const BACKSPACE = '\u007f';
const CTRL_U = '\u0015';
const CTRL_W = '\u0017';

let fixture: RefresherFixture;
let deploymentFile: string;
let workDir: string;

beforeAll(async () => {
  ({ workDir, fixture, deploymentFile } = await createCliWorkspace('editing'));
  const bootstrap = await runPipedPasswordGrant('bootstrap', deploymentFile, workDir, fixture.instance());
  expect(bootstrap.code).toBe(0);
});

afterAll(async () => {
  await fixture.close();
});

describe('prompts edit like a shell line, on a real pseudo-terminal', () => {
  it('a password typed with a mistake, Ctrl-U, backspace and arrow keys reaches ServiceNow as meant', async () => {
    const { password, username } = fixture.instance();
    const grantsBefore = fixture.sim.log.filter((e) => e.result === 'password-ok').length;
    // Typed: a wrong start wiped with Ctrl-U; the password without its 4th character and with a
    // slip at the end fixed by backspace; then the cursor moved back to put the 4th character in.
    const tail = password.slice(4);
    const typed = [
      ...'not-it',
      CTRL_U,
      ...password.slice(0, 3),
      ...tail,
      'x',
      BACKSPACE,
      ...Array<string>(tail.length).fill(LEFT),
      password.charAt(3),
      RIGHT,
      RIGHT,
      '\r',
    ];

    const run = await runCliOnTerminal(
      ['renew', 'acme', '--deployment', deploymentFile, '--username', username],
      workDir,
      [[/Password for .*: $/, typed]],
    );

    expect(run.screen).toMatch(/Stored new credentials for acme|refresh token expires on/);
    expect(run.code).toBe(0);
    expect(fixture.sim.log.filter((e) => e.result === 'password-ok').length).toBe(grantsBefore + 1);
    // Hidden stays hidden: nothing typed is drawn, not even the edits.
    expect(run.screen).not.toContain(password.slice(0, 3));
    expect(run.screen).not.toContain('not-it');
  }, 120_000);

  it('a visible answer edits too: Ctrl-W removes the last word, arrow keys move within the line', async () => {
    const { password, username } = fixture.instance();
    // The user name typed without its first letter and with a stray word, removed with Ctrl-W (and
    // the space before it with backspace), then the arrow keys back to the start for the first letter.
    const rest = username.slice(1);
    const typed = [
      ...rest,
      ' ',
      ...'mistake',
      CTRL_W,
      BACKSPACE,
      ...Array<string>(rest.length).fill(LEFT),
      username.charAt(0),
      '\r',
    ];

    const run = await runCliOnTerminal(['renew', 'acme', '--deployment', deploymentFile], workDir, [
      [/Integration user name: $/, typed],
      [/Password for .*: $/, [...password, '\r']],
    ]);

    expect(run.screen).toContain(`Password for ${username} (hidden`);
    expect(run.code).toBe(0);
  }, 120_000);
});
