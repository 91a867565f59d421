import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('npm run demo', () => {
  it('lives through the whole timeline in fast mode and tells each key event', () => {
    // Given a fresh process, as `npm run demo` starts one (its own emulator and simulator)
    const run = spawnSync('npx', ['tsx', 'scripts/demo.ts', '--fast'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 85_000,
      env: { ...process.env, NO_COLOR: '1' },
    });

    // Then it succeeds and the narration shows every event the README promises
    expect(run.stderr).not.toContain('Demo failed');
    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/refresher: new access token stored/);
    expect(out).toMatch(
      /sync job \(examples\/sync-job\.ts\): listed 25 incident records and synced 25 \(their text mentions hibernation/,
    );
    expect(out).toMatch(/✉ {2}\[ServiceNow token\] acme: instance not answering properly since /);
    expect(out).toMatch(/│ RESOLVED: instance answering again\./);
    expect(out).toMatch(/✉ {2}\[ServiceNow token\] acme: refresh token expires \d{4}-/);
    expect(out).toMatch(/snow-token renew acme/);
    expect(out).toMatch(/│ RESOLVED: refresh token renewed\./);
    // A stand-in Exalate holding its own refresh token, handed off and counted down
    expect(out).toMatch(/snow-token handoff acme --to exalate --watch/);
    expect(out).toMatch(/stand-in "Exalate" syncs: ServiceNow accepts its refresh token/);
    expect(out).toMatch(/✉ {2}\[ServiceNow token\] Exalate's refresh token for acme expires \d{4}-/);
    expect(out).toMatch(/│ RESOLVED: a new refresh token was handed off to Exalate/);
    // Each email is stamped when it was sent, as its body says.
    for (const [, stamp, sent] of out.matchAll(
      /^(\S+ \S+) UTC +day +[\d.]+ +✉[^\n]*\n[^\n]*\n(?:[^\n]*\n)*?[^\n]*│ (?:Sent|Resolved): +(\S+ \S+)/gm,
    )) {
      expect(stamp).toBe(sent?.replace(/,$/, ''));
    }
    expect(out).toMatch(/npx cdk deploy -c config=/);
    // Colours only at a terminal
    expect(out).not.toContain('\u001b[');
  }, 90_000);
});
