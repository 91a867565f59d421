import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertingHarness } from '../../harness/alerting-harness';
import {
  type CliOptions,
  type CliRun,
  cliEnvironment,
  runCli,
  runCliOnTerminal,
  runPipedPasswordGrant,
  writeDeploymentFile,
} from '../../harness/cli-process';
import { localAwsConfig } from '../../harness/local-aws/aws-env';
import { RefresherFixture } from '../../harness/refresher-fixture';
import { VirtualClock } from '../../harness/virtual-clock';

let fixture: RefresherFixture;
let alerting: AlertingHarness;
let deploymentFile: string;
let workDir: string;
const transcripts: string[] = [];

/** Keeps what a run of the CLI said, for the final look for the password. */
async function kept(running: Promise<CliRun>): Promise<CliRun> {
  const run = await running;
  transcripts.push(run.stdout, run.stderr);
  return run;
}

/** Runs the CLI as an operator would, with standard input piped. */
const cli = (args: readonly string[], options: CliOptions = {}) => kept(runCli(args, workDir, options));

/** Runs the CLI in a pseudo-terminal, typing each answer at its prompt; keeps the screen. */
async function cliOnTerminal(args: readonly string[], answers: readonly [RegExp, string][]) {
  const run = await runCliOnTerminal(args, workDir, answers);
  transcripts.push(run.screen);
  return run;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'snow-token-cli-'));
  fixture = await RefresherFixture.create({ clock: new VirtualClock(Date.now()) });
  alerting = await AlertingHarness.create(fixture);
  deploymentFile = writeDeploymentFile(workDir, fixture, {
    stackName: 'ServiceNowTokenRefresher',
    alertTopicArn: alerting.topicArn,
  });
});

afterAll(async () => {
  await fixture.close();
});

const acme = () => fixture.instance();
const d = () => ['--deployment', deploymentFile];

describe('snow-token, run as a subprocess against the simulator and the local AWS emulator', () => {
  it('bootstraps from piped input and says when the refresh token expires', async () => {
    const run = await kept(runPipedPasswordGrant('bootstrap', deploymentFile, workDir, acme()));

    expect(run.stderr).not.toMatch(/unexpected/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /Stored new credentials for acme\.\nThe refresh token expires on .* \(in 100 days\)/,
    );
    const credentials = await fixture.credentials();
    expect(credentials?.clientId).toBe(acme().registry.clientId);
    expect(acme().sim.isAccessTokenValid((await fixture.accessToken())?.accessToken ?? '')).toBe(true);
  });

  it('bootstraps through a terminal with hidden prompts that never echo the secrets', async () => {
    const run = await cliOnTerminal(
      ['bootstrap', 'acme', ...d(), '--new-client'],
      [
        [/OAuth client id: $/, `${acme().registry.clientId}\r`],
        [/client secret \(hidden\): $/, `${acme().registry.clientSecret}\r`],
        [/Integration user name: $/, `${acme().username}\r`],
        [/never stored\): $/, `${acme().password}\r`],
      ],
    );

    expect(run.code).toBe(0);
    expect(run.screen).toMatch(/Stored new credentials for acme/);
    expect(run.screen).toContain(acme().registry.clientId);
    expect(run.screen).not.toContain(acme().password);
    expect(run.screen).not.toContain(acme().registry.clientSecret);
  });

  it('renews with the stored client, closing the expiry countdown', async () => {
    const before = await fixture.credentials();

    const run = await cli(['renew', 'acme', ...d(), '--username', acme().username, '--password-stdin'], {
      stdin: `${acme().password}\n`,
    });

    expect(run.code).toBe(0);
    const after = await fixture.credentials();
    expect(Date.parse(after?.refreshTokenIssuedAt ?? '')).toBeGreaterThan(
      Date.parse(before?.refreshTokenIssuedAt ?? ''),
    );
    expect(after?.clientSecret).toBe(before?.clientSecret);
  });

  it('renews with a new client secret given --new-client, the fix the refresher names for invalid_client', async () => {
    // The client secret was changed in ServiceNow's Application Registry: the stored one is refused.
    acme().registry.clientSecret = `cs-rotated-${Date.now()}`;

    const run = await kept(
      runPipedPasswordGrant('renew', deploymentFile, workDir, acme(), { extra: ['--new-client'] }),
    );

    expect(run.stderr).not.toMatch(/failed/);
    expect(run.code).toBe(0);
    expect((await fixture.credentials())?.clientSecret).toBe(acme().registry.clientSecret);
  });

  it('shows every instance in status, as a table and as JSON', async () => {
    const text = await cli(['status', ...d()]);
    const json = await cli(['status', ...d(), '--json']);

    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^INSTANCE\s+ACCESS TOKEN VALID UNTIL\s+LAST REFRESH\s+REFRESH TOKEN EXPIRES\s+DAYS LEFT/,
    );
    expect(text.stdout).toMatch(/acme .* 99 .*none/);
    expect(text.stdout).not.toContain('\u001b['); // no colours when stdout is not a terminal
    const [row] = JSON.parse(json.stdout) as {
      instance: string;
      daysLeft: number;
      openIncidents: string[];
    }[];
    expect(row).toMatchObject({ instance: 'acme', daysLeft: 99, openIncidents: [] });
  });

  it('forces a refresh and shows the result', async () => {
    acme().sim.settings.earlyRefreshMode = 'new-token';
    const before = await fixture.accessToken();

    const run = await cli(['refresh', 'acme', ...d(), '--local']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/acme: refreshed; the stored token is valid until/);
    expect((await fixture.accessToken())?.accessToken).not.toBe(before?.accessToken);
  });

  it('passes every doctor check on a healthy instance', async () => {
    const run = await cli(['doctor', 'acme', ...d()]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ok {3}instance reachable and awake/);
    expect(run.stdout).toMatch(/ok {3}password grant accepted/);
    expect(run.stdout).toMatch(/ok {3}probe allowed/);
    expect(run.stdout).toMatch(/^note grant without a cliff: the password grant works/m);
    expect(run.stdout).not.toMatch(/FAIL/);
  });

  it('spends no grant in doctor, so a rotating instance keeps its refresh token', async () => {
    const grantsBefore = fixture.sim.log.filter((entry) => entry.grantType !== undefined).length;

    const run = await cli(['doctor', 'acme', ...d()]);

    expect(run.stdout).toMatch(/password grant accepted/);
    expect(fixture.sim.log.filter((entry) => entry.grantType !== undefined).length).toBe(grantsBefore);
  });

  it('names the fix for a hibernating instance in doctor', async () => {
    acme().sim.settings.hibernation = 'html-200';
    const run = await cli(['doctor', 'acme', ...d()]);
    acme().sim.settings.hibernation = null;

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL instance reachable and awake: instance unavailable: hibernating/);
    expect(run.stdout).toMatch(/fix: Wake the developer instance at https:\/\/developer.servicenow.com/);
  });

  it('sends a test alert through the topic', async () => {
    await alerting.emails();

    const run = await cli(['test-alert', ...d()]);

    expect(run.code).toBe(0);
    const emails = await alerting.emails();
    expect(emails.map((e) => e.subject)).toEqual(['[ServiceNow token] test alert']);
  });

  describe('bad input: a clear message, a non-zero exit code, stored credentials untouched', () => {
    let stored: string | undefined;
    beforeAll(async () => {
      stored = await fixture.rawSecret(acme().config.credentialsSecretId);
    });
    const untouched = async () =>
      expect(await fixture.rawSecret(acme().config.credentialsSecretId)).toBe(stored);

    it('refuses an unknown instance', async () => {
      const run = await cli(['renew', 'nope', ...d(), '--password-stdin'], { stdin: 'x\n' });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/Unknown instance "nope"\. This deployment has: acme/);
      await untouched();
    });

    it('refuses a wrong password', async () => {
      const run = await cli(['renew', 'acme', ...d(), '--username', acme().username, '--password-stdin'], {
        stdin: 'not-the-password\n',
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /renew failed: ServiceNow refused the password grant: check .* The stored credentials were left as they were/,
      );
      await untouched();
    });

    it('refuses a wrong client secret', async () => {
      const run = await kept(
        runPipedPasswordGrant('bootstrap', deploymentFile, workDir, acme(), {
          extra: ['--new-client'],
          clientSecret: 'wrong-secret',
        }),
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/bootstrap failed: ServiceNow refused the password grant/);
      await untouched();
    });

    it('refuses when the instance is hibernating', async () => {
      acme().sim.settings.hibernation = 'redirect-302';
      const run = await cli(['renew', 'acme', ...d(), '--username', acme().username, '--password-stdin'], {
        stdin: `${acme().password}\n`,
      });
      acme().sim.settings.hibernation = null;
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/renew failed: instance unavailable: hibernating/);
      await untouched();
    });

    it('refuses when the instance is unreachable', async () => {
      acme().sim.addFault({ fault: { kind: 'reset' }, times: 1 });
      const run = await cli(['renew', 'acme', ...d(), '--username', acme().username, '--password-stdin'], {
        stdin: `${acme().password}\n`,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/renew failed: network error/);
      await untouched();
    });

    it('stops cleanly when the prompt is interrupted', async () => {
      const run = await cliOnTerminal(
        ['renew', 'acme', ...d(), '--username', acme().username],
        [[/never stored\): $/, '\u0003']],
      );
      expect(run.code).toBe(130);
      expect(run.screen).toMatch(/Interrupted; nothing was stored/);
      await untouched();
    });

    it('refuses a password given as an argument', async () => {
      const run = await cli(['renew', 'acme', ...d(), `--password=${acme().password}`]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--password is not accepted/);
      await untouched();
    });

    it('says how to sign in when AWS credentials are missing', async () => {
      const env: NodeJS.ProcessEnv = {
        ...cliEnvironment(workDir),
        AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'none'),
        AWS_CONFIG_FILE: join(workDir, 'none'),
      };
      delete env.AWS_ACCESS_KEY_ID;
      delete env.AWS_SECRET_ACCESS_KEY;
      const run = await cli(['status', ...d()], { env });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/No AWS credentials found/);
    });

    it('asks for --password-stdin when there is no terminal', async () => {
      const run = await cli(['renew', 'acme', ...d(), '--username', acme().username]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/No terminal to ask on.*--password-stdin/);
      await untouched();
    });
  });

  it('leaves the password nowhere: not in the emulator, not in any output or log', async () => {
    const dump = await (await fetch(`${localAwsConfig().endpoint}/moto-api/data.json`)).text();
    const everything = [dump, fixture.logs.text(), ...transcripts].join('\n');

    expect(dump.length).toBeGreaterThan(1000);
    expect(everything).not.toContain(acme().password);
  });
});

describe('snow-token finds a deployment from the config file and the stack outputs', () => {
  it('reads the config cdk.json names and the outputs of the deployed stack', async () => {
    const stackName = `SnowTokenCli${Date.now()}`;
    const repo = mkdtempSync(join(tmpdir(), 'snow-token-repo-'));
    writeFileSync(
      join(repo, 'cdk.json'),
      JSON.stringify({ app: 'true', context: { config: 'config/mine.json' } }),
    );
    mkdirSync(join(repo, 'config'));
    writeFileSync(
      join(repo, 'config', 'mine.json'),
      JSON.stringify({ stackName, instances: [{ name: 'acme', url: 'https://acme.service-now.com' }] }),
    );
    const cloudFormation = new CloudFormationClient(localAwsConfig());
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: JSON.stringify({
          Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
          Outputs: {
            StateTableName: { Value: fixture.aws.tableName },
            AlertTopicArn: { Value: { Ref: 'Topic' } },
            RefresherFunctionName: { Value: 'refresher' },
          },
        }),
      }),
    );

    const run = await runCli(['status', '--json'], join(repo, 'config'));

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([expect.objectContaining({ instance: 'acme' })]);
  });

  it('says how to deploy when the stack is not there', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'snow-token-repo-'));
    writeFileSync(
      join(repo, 'mine.json'),
      JSON.stringify({
        stackName: 'NotDeployedHere',
        instances: [{ name: 'acme', url: 'https://acme.service-now.com' }],
      }),
    );

    const run = await cli(['status', '--config', join(repo, 'mine.json')]);

    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /The stack NotDeployedHere is not deployed in this account and region\. Deploy it with "npx cdk deploy"/,
    );
  });
});
