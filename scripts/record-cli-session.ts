/**
 * Records a real operator session of every snow-token command against the ServiceNow simulator and
 * the local AWS emulator, and writes it to docs/cli-session.md (the README's operations section
 * quotes it). Run with: npx tsx scripts/record-cli-session.ts
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMoto } from '../harness/local-aws/moto-server';

const ROOT = join(import.meta.dirname, '..');

const moto = await startMoto();
process.env.LOCAL_AWS_ENDPOINT = moto.endpoint;
const { AlertingHarness } = await import('../harness/alerting-harness');
const { runCliOnTerminal, writeDeploymentFile } = await import('../harness/cli-process');
const { RefresherFixture } = await import('../harness/refresher-fixture');
const { VirtualClock } = await import('../harness/virtual-clock');

const work = mkdtempSync(join(tmpdir(), 'snow-token-session-'));
const fixture = await RefresherFixture.create({ clock: new VirtualClock(Date.now()) });
const alerting = await AlertingHarness.create(fixture);
const acme = fixture.instance();
writeDeploymentFile(work, fixture, {
  alertTopicArn: alerting.topicArn,
  refresherFunctionName: 'ServiceNowTokenRefresher-Refresher',
});

const sections: string[] = [];
async function record(title: string, args: string[], answers: [RegExp, string][] = []) {
  // Each command in a pseudo-terminal, each answer typed when its prompt shows.
  const { screen, code } = await runCliOnTerminal(args, work, answers);
  const text = screen
    .replace(/\r+\n/g, '\n')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strip terminal colour codes
    .replace(/\u001b\[\d+m/g, '')
    .replaceAll(acme.config.url, 'https://acme.service-now.com')
    .trimEnd();
  sections.push(
    `### ${title}\n\n\`\`\`console\n$ snow-token ${args.join(' ')}\n${text}\n\`\`\`\n\n(exit code ${code})\n`,
  );
}

const d = ['--deployment', 'deployment.json'];
await record(
  'Bootstrap: store the OAuth client and a first refresh token',
  ['bootstrap', 'acme', ...d],
  [
    [/OAuth client id: $/, `${acme.registry.clientId}\r`],
    [/client secret \(hidden\): $/, `${acme.registry.clientSecret}\r`],
    [/Integration user name: $/, `${acme.username}\r`],
    [/never stored\): $/, `${acme.password}\r`],
  ],
);
await record('Status of every instance', ['status', ...d]);
await record('An immediate refresh, run from this machine with your own AWS access', [
  'refresh',
  'acme',
  ...d,
]);
await record('Doctor: checks with their fixes', ['doctor', 'acme', ...d]);
await record(
  'Renew: a new refresh token with the stored client (what expiry emails ask for)',
  ['renew', 'acme', ...d],
  [
    [/Integration user name: $/, `${acme.username}\r`],
    [/never stored\): $/, `${acme.password}\r`],
  ],
);
await record('Test alert', ['test-alert', ...d]);
await record('A password on the command line is refused', ['renew', 'acme', ...d, '--password=hunter2']);

await fixture.close();
await moto.stop();
const date = new Date().toISOString().slice(0, 10);
writeFileSync(
  join(ROOT, 'docs', 'cli-session.md'),
  `# A real snow-token session\n\nRecorded on ${date} by \`npx tsx scripts/record-cli-session.ts\` against the ServiceNow simulator and the local AWS emulator (the instance URL is shown as a real one would be; \`--deployment\` stands in for the config file and stack outputs a deployment repository provides). Hidden answers are not echoed, so they do not appear.\n\n${sections.join('\n')}`,
);
console.log('wrote docs/cli-session.md');
