import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCliWorkspace,
  everyFileUnder,
  everyProcessArgvAndEnvironment,
  runCli,
  runCliOnTerminal,
} from '../../harness/cli-process';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import type { RefresherFixture } from '../../harness/refresher-fixture';
import type { RegistryRecord } from '../../harness/servicenow-simulator';
import { ConsumerTokenStore } from '../../lambda/shared/consumers/consumer-tokens';
import { fingerprint } from '../../lambda/shared/state/instance-state';

let fixture: RefresherFixture;
let consumers: ConsumerTokenStore;
let workDir: string;
let deploymentFile: string;
let exalateClient: RegistryRecord;
const screens: string[] = [];

beforeAll(async () => {
  ({ workDir, fixture, deploymentFile } = await createCliWorkspace('handoff', {
    refreshTokenLifespanDays: { acme: 100 },
  }));
  consumers = new ConsumerTokenStore(fixture.aws.dynamo, fixture.aws.tableName);
  // Exalate gets an OAuth client of its own, as docs/exalate.md advises.
  exalateClient = fixture.instance().sim.addRegistry({
    clientId: 'exalate-client',
    clientSecret: `cs-exalate-${randomBytes(12).toString('hex')}`,
  });
});

afterAll(async () => {
  await fixture.close();
});

const acme = () => fixture.instance();
const d = () => ['--deployment', deploymentFile];

/** The refresh token ServiceNow issued whose fingerprint the deployment recorded. */
function refreshTokenWithFingerprint(print: string | undefined): string {
  const token = acme()
    .sim.issuedTokens()
    .find((t) => acme().sim.refreshToken(t) && fingerprint(t) === print);
  if (!token) throw new Error(`no issued refresh token has the fingerprint ${print}`);
  return token;
}

function occurrences(text: string, value: string): number {
  return text.split(value).length - 1;
}

/** A handoff with the client secret and password piped in (--password-stdin), as a script would. */
function pipedHandoff(consumer: string) {
  return runCli(
    [
      'handoff',
      'acme',
      ...d(),
      '--to',
      consumer,
      '--client-id',
      'exalate-client',
      '--username',
      acme().username,
      '--password-stdin',
    ],
    workDir,
    { stdin: `${exalateClient.clientSecret}\n${acme().password}\n` },
  );
}

const answers = (): [RegExp, string][] => [
  [/client secret of exalate-client \(hidden, never stored\): $/, `${exalateClient.clientSecret}\r`],
  [/Integration user name: $/, `${acme().username}\r`],
  [/never stored\): $/, `${acme().password}\r`],
];

describe('snow-token handoff --to exalate, at a terminal', () => {
  it('shows the refresh token exactly once and never echoes the password or client secret', async () => {
    let processes = '';
    acme().sim.addFault({ fault: { kind: 'latency', ms: 1500 }, path: '/oauth_token.do', times: 1 });

    const run = await runCliOnTerminal(
      ['handoff', 'acme', ...d(), '--to', 'exalate', '--client-id', 'exalate-client'],
      workDir,
      answers(),
      () => {
        processes = everyProcessArgvAndEnvironment();
      },
    );
    screens.push(run.screen);

    expect(run.code).toBe(0);
    const [record] = await consumers.list('acme');
    const token = refreshTokenWithFingerprint(record?.fingerprint);
    expect(occurrences(run.screen, token)).toBe(1);
    expect(run.screen).toContain('Client ID:      exalate-client');
    expect(run.screen).toMatch(/Client secret: the one you typed at the prompt/);
    expect(run.screen).toMatch(/Exalate then raises no "no access is possible" flag/);
    expect(run.screen).not.toContain(acme().password);
    expect(run.screen).not.toContain(exalateClient.clientSecret);
    expect(processes.length).toBeGreaterThan(100);
    expect(processes).not.toContain(acme().password);
    expect(processes).not.toContain(exalateClient.clientSecret);
  });

  it('records the token without its value: tool, instance, issue time, lifespan, fingerprint', async () => {
    const [record] = await consumers.list('acme');

    expect(record).toMatchObject({
      consumer: 'exalate',
      instance: 'acme',
      source: 'handoff',
      lifespanSeconds: 8_640_000,
      clientId: 'exalate-client',
      rotating: false,
      watched: false,
    });
    expect(record?.issuedAt).toBeGreaterThan(Date.now() - 120_000);
    const token = refreshTokenWithFingerprint(record?.fingerprint);
    const dump = await (await fetch(`${localAwsConfig().endpoint}/moto-api/data.json`)).text();
    expect(dump).not.toContain(token);
  });

  it('writes the values to a new owner-only file with --output, and not to the screen', async () => {
    const file = join(workDir, 'exalate-token.txt');

    const run = await runCliOnTerminal(
      ['handoff', 'acme', ...d(), '--to', 'exalate', '--client-id', 'exalate-client', '--output', file],
      workDir,
      answers(),
    );
    screens.push(run.screen);

    expect(run.code).toBe(0);
    const [record] = await consumers.list('acme');
    const token = refreshTokenWithFingerprint(record?.fingerprint);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(occurrences(readFileSync(file, 'utf8'), token)).toBe(1);
    expect(run.screen).not.toContain(token);
    expect(run.screen).toContain(`in ${file} (readable by you only)`);
  });

  it('refuses to overwrite an existing --output file before asking anything', async () => {
    const file = join(workDir, 'taken.txt');
    writeFileSync(file, 'something else');

    const run = await runCli(['handoff', 'acme', ...d(), '--to', 'exalate', '--output', file], workDir);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--output .* already exists/);
    expect(readFileSync(file, 'utf8')).toBe('something else');
  });

  it('never wrote the password or client secret to disk', () => {
    const disk = everyFileUnder(workDir);
    expect(disk).toContain('exalate-client');
    expect(disk).not.toContain(acme().password);
    expect(disk).not.toContain(exalateClient.clientSecret);
  });

  it('refuses the password or the client secret as arguments', async () => {
    const run = await runCli(['handoff', 'acme', ...d(), '--to', 'exalate', '--client-secret=x'], workDir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--client-secret is not accepted/);
  });
});

describe('snow-token handoff against a rotating instance', () => {
  it('hands off the newest token and records that it must never be verified', async () => {
    acme().sim.settings.rotateRefreshTokens = true;
    const run = await pipedHandoff('exalate-rotating');
    acme().sim.settings.rotateRefreshTokens = false;

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/rotates refresh tokens: the check got a new one back/);
    const record = (await consumers.list('acme')).find((c) => c.consumer === 'exalate-rotating');
    expect(record?.rotating).toBe(true);
    const handedOff = refreshTokenWithFingerprint(record?.fingerprint);
    expect(occurrences(run.stdout, handedOff)).toBe(1);
    expect(acme().sim.refreshToken(handedOff)?.revoked).toBe(false);
  });
});

describe('snow-token track and status', () => {
  it('tracks a token minted elsewhere from its issue date', async () => {
    const issued = new Date(Date.now() - 93 * 86_400_000).toISOString().slice(0, 10);

    const run = await runCli(['track', 'acme', ...d(), '--to', 'other-tool', '--issued', issued], workDir);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /Tracking other-tool's refresh token for acme: it expires on .* \(6 days left\)/,
    );
    const record = (await consumers.list('acme')).find((c) => c.consumer === 'other-tool');
    expect(record).toMatchObject({ source: 'track', issuedAt: Date.parse(`${issued}T00:00:00Z`) });
    expect(record?.fingerprint).toBeUndefined();
  });

  it('shows every tracked token with its days left', async () => {
    const text = await runCli(['status', ...d()], workDir);
    const json = await runCli(['status', ...d(), '--json'], workDir);

    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/TOKENS HELD BY OTHER TOOLS/);
    expect(text.stdout).toMatch(/acme\s+Exalate\s+.*\(handoff\)\s+.*\s99\s+no/);
    expect(text.stdout).toMatch(/acme\s+Exalate\s+.*\(handoff\)\s+.*\s99\s+never \(rotating\)/);
    expect(text.stdout).toMatch(/acme\s+other-tool\s+.*\(track\)\s+.*\s6\s+no/);
    const [row] = JSON.parse(json.stdout) as { consumerTokens: { consumer: string; daysLeft: number }[] }[];
    expect(row?.consumerTokens.map((c) => [c.consumer, c.daysLeft])).toEqual([
      ['exalate', 99],
      ['exalate-rotating', 99],
      ['other-tool', 6],
    ]);
  });

  it('replaces the record on a new handoff to the same tool', async () => {
    const before = (await consumers.list('acme')).find((c) => c.consumer === 'other-tool');

    const run = await pipedHandoff('other-tool');

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/It replaces the token recorded before for this tool/);
    const after = (await consumers.list('acme')).filter((c) => c.consumer === 'other-tool');
    expect(after).toHaveLength(1);
    expect(after[0]?.source).toBe('handoff');
    expect(after[0]?.issuedAt).toBeGreaterThan(before?.issuedAt ?? Infinity);
  });

  it('asks for the tool and for the issue date, with an example', async () => {
    const noTool = await runCli(['track', 'acme', ...d(), '--issued', '2026-01-05'], workDir);
    const noDate = await runCli(['track', 'acme', ...d(), '--to', 'exalate'], workDir);

    expect(noTool.code).toBe(2);
    expect(noTool.stderr).toMatch(/--to exalate/);
    expect(noDate.code).toBe(2);
    expect(noDate.stderr).toMatch(/--issued 2026-01-05/);
  });
});
