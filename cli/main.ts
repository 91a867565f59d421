import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DEFAULT_REFRESH_SETTINGS } from '../lambda/refresher/refresh-policy';
import { createRefresher } from '../lambda/refresher/refresher';
import { deploymentFacts } from '../lambda/shared/alerting-environment';
import { Alerts, DEFAULT_ALERT_SETTINGS } from '../lambda/shared/alerts/alerts';
import { DynamoIncidentStore } from '../lambda/shared/alerts/incident-store';
import { AwsNotifier } from '../lambda/shared/alerts/notifier';
import { systemClock } from '../lambda/shared/clock';
import { ConsumerTokenStore } from '../lambda/shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import type { RefreshRequester } from '../lambda/shared/refresh-requester';
import { SecretsManagerSecretStore } from '../lambda/shared/secrets/secret-store';
import { createServiceNowAgent, serviceNowClients } from '../lambda/shared/servicenow/servicenow-client';
import { AwsClock } from '../lambda/shared/state/aws-clock';
import { DynamoStateStore } from '../lambda/shared/state/state-store';
// Inlined by the build (esbuild keeps only this field); read from the file when run from source.
import { version as PACKAGE_VERSION } from '../package.json';
import { type CliContext, doctor, keylessGrant, passwordGrant, refresh, status, testAlert } from './commands';
import { type Deployment, findInstance, resolveDeployment } from './deployment';
import { CliError, EXIT, type ExitCode, explainAwsError } from './errors';
import { handoff, track } from './handoff';
import { processTerminal, type Terminal } from './terminal';

const COMMON = `Options for every command:
  --config <file>       deployment configuration (default: the one cdk.json names)
  --deployment <file>   a deployment written out in full, instead of --config and the stack outputs
  --stack <name>        the stack the command is meant for; refused if the configuration is another's
  --region <code>       AWS region (default: the configuration's "region", else AWS_REGION / your profile)
  --profile <name>      AWS profile (default: AWS_PROFILE)
  --json                machine-readable output where the output is data
  -h, --help            this help
  --version             print the version of snow-token and exit`;

const HELP: Record<string, string> = {
  '': `snow-token: keep ServiceNow OAuth tokens for your integrations fresh

Usage: snow-token <command> [options]

Commands:
  bootstrap <instance>   store an instance's OAuth client and a first refresh token (password grant)
  renew <instance>       start a new refresh token with the stored client (the command expiry emails name)
  status                 every instance: token validity, refresh token days left, probes, open incidents
  refresh <instance>     ask the refresher for an immediate refresh and show the result
  doctor <instance>      checks that explain failures, each with its fix
  test-alert             send a test email through the alert topic
  handoff <instance>     mint a refresh token for another tool (e.g. --to exalate), show it once, count it down
  track <instance>       count down a refresh token another tool got elsewhere (e.g. from a curl password grant)

Run "snow-token <command> --help" for a command's options.
Exit codes: 0 ok, 1 the operation failed, 2 wrong usage, 3 deployment or AWS access problem, 130 interrupted.

${COMMON}`,
  bootstrap: `Usage: snow-token bootstrap <instance> [--grant password|client_credentials|jwt_bearer]
       [--client-id <id>] [--username <name>] [--password-stdin] [--new-client]
       [--private-key <file> --certificate <file>] [--wait <seconds>] [--wait-interval <seconds>]

--grant password (the default for a new instance):

Asks for the OAuth client id and secret (unless already stored; --new-client asks again), the
integration user's name and password (hidden), runs one password grant, probes with the new token,
and stores the credentials and the access token. The password is never stored, logged or accepted
as an argument or environment variable. With --password-stdin, standard input holds the password
on one line (preceded by the client secret on its own line when a client secret is asked for).

--grant client_credentials: no user, no password, no refresh token, no 100-day renewal. Asks for
the client id and secret and stores them once ServiceNow issues a token with them. Needs
glide.oauth.inbound.client.credential.grant_type.enabled = true and an OAuth Application User on
the registry record (Washington DC and later).

--grant jwt_bearer: no password and no refresh token either. Makes a key pair and a certificate
valid 2 years (or uses --private-key and --certificate), prints the certificate and the ServiceNow
steps to register it, then tries the grant every --wait-interval (15 s) for up to --wait (900 s)
until the admin has done so. Nothing is stored until ServiceNow accepts it; the private key is
only ever stored in the credentials secret.

${COMMON}`,
  renew: `Usage: snow-token renew <instance> [--username <name>] [--password-stdin]

Starts a new refresh token with the stored client id and secret: one password grant, a probe, and
both secrets rewritten. Closes the expiry countdown. The password is never stored.

${COMMON}`,
  status: `Usage: snow-token status [--json]\n\n${COMMON}`,
  refresh: `Usage: snow-token refresh <instance> [--local]

Forces an immediate refresh, run from this machine with your own access (the operators' role may
write the instance's secrets; the deployed function takes no forced requests from its invokers).
--local is accepted and changes nothing.

${COMMON}`,
  doctor: `Usage: snow-token doctor <instance> [--json]

Checks, without changing anything and without spending a grant: the instance answers (or
hibernates), the refresher's last grant was accepted, the stored access token passes the probe, the
access-token lifespan suits the schedule, and the days left on the refresh token. Each failed check
prints its fix. To try a grant now, under the refresher's lease: snow-token refresh <instance>.

${COMMON}`,
  handoff: `Usage: snow-token handoff <instance> --to <tool> [--client-id <id>] [--username <name>]
       [--output <file>] [--lifespan-days <days>] [--watch] [--password-stdin]

For tools that hold their own ServiceNow refresh token (Exalate and the like): replaces the curl
password grant of their setup guides. Asks for the OAuth client secret and the user's password
(hidden; never stored, never accepted as arguments or environment variables), runs one password
grant against the instance, then one refresh grant with the new token to prove it and to detect
an instance that rotates refresh tokens (then the newest one is handed off, and never verified).

Shows the client id and the refresh token once, with where the tool's admin pastes each value;
--output <file> writes them to a new owner-only (0600) file instead of the screen. The client is
the instance's stored one unless --client-id names another. The deployment records the token
without its value (tool, issue time, lifespan, fingerprint), counts it down and warns before it
expires, like its own. A new handoff to the same tool replaces the record and closes the warnings.
--lifespan-days: the client's refresh token lifespan (default: the instance's configured one).
--watch: also keep the token (and the client secret) in a secret only the expiry watch reads, and
prove it once a day with one refresh grant (its access token dropped at once): a revoked token is
reported within a day, before the tool's sync breaks. Never for a rotating token.

${COMMON}`,
  track: `Usage: snow-token track <instance> --to <tool> --issued <date> [--lifespan-days <days>]

Records a refresh token that a tool got elsewhere (e.g. Exalate's curl step), counted from the day
it was issued (2026-01-05, or 2026-01-05T09:30Z), so the deployment warns before it expires. No
token value is asked for or stored. Replaces the tool's earlier record on this instance.

${COMMON}`,
  'test-alert': `Usage: snow-token test-alert\n\nSends a test email through the alert topic so ops can confirm their subscriptions.\n\n${COMMON}`,
};

const FORBIDDEN_OPTION = /^--?(password|pass|pwd|client-secret|secret)(=.*)?$/i;

export interface Dependencies {
  readonly terminal: Terminal;
  readonly cwd: string;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function main(
  argv: readonly string[],
  deps: Dependencies = { terminal: processTerminal(), cwd: process.cwd() },
): Promise<ExitCode> {
  const { terminal } = deps;
  try {
    return await run(argv, deps);
  } catch (error) {
    const explained = error instanceof CliError ? error : explainAwsError(error);
    if (explained) {
      terminal.err(`snow-token: ${explained.message}`);
      return explained.exitCode;
    }
    terminal.err(`snow-token: unexpected error: ${(error as Error).message ?? String(error)}`);
    return EXIT.failed;
  }
}

async function run(argv: readonly string[], deps: Dependencies): Promise<ExitCode> {
  const { terminal } = deps;
  const refused = argv.find((a) => FORBIDDEN_OPTION.test(a));
  if (refused) {
    throw new CliError(
      `${refused.split('=')[0]} is not accepted: secrets on the command line end up in shell history and process lists. Answer the hidden prompt, or use --password-stdin.`,
      EXIT.usage,
    );
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    // parseArgs quotes the option as typed: never show a value given with it.
    const message = (error as Error).message.replace(/=[^'"\s]*/g, '=...');
    throw new CliError(`${message}. See "snow-token --help".`, EXIT.usage);
  }
  const { values, positionals } = parsed;
  const [command = '', instanceName, ...extra] = positionals;
  if (values.version) {
    terminal.out(`snow-token ${PACKAGE_VERSION}`);
    return EXIT.ok;
  }
  if (values.help || command === 'help' || command === '') {
    const topic = command === 'help' ? (instanceName ?? '') : command;
    terminal.out(HELP[topic] ?? HELP[''] ?? '');
    return command === '' && !values.help ? EXIT.usage : EXIT.ok;
  }
  if (!(command in HELP))
    throw new CliError(`Unknown command "${command}". See "snow-token --help".`, EXIT.usage);
  const takesInstance = ['bootstrap', 'renew', 'refresh', 'doctor', 'handoff', 'track'].includes(command);
  if (extra.length || (!takesInstance && instanceName)) {
    // Never echoed: an extra argument is often a password typed in the wrong place.
    throw new CliError(
      `Unexpected extra argument (${extra.length || 1}, not shown). See "snow-token ${command} --help".`,
      EXIT.usage,
    );
  }
  if (takesInstance && !instanceName) {
    throw new CliError(`Name the instance: snow-token ${command} <instance>.`, EXIT.usage);
  }
  if (values.profile) process.env.AWS_PROFILE = values.profile;

  const deployment = await resolveDeployment(
    {
      config: values.config,
      deployment: values.deployment,
      stack: values.stack,
      region: values.region,
      cwd: deps.cwd,
    },
    (region) => new CloudFormationClient({ maxAttempts: 3, ...(region && { region }) }),
  );
  const region = values.region ?? deployment.region;
  const clientConfig = { maxAttempts: 3, ...(region && { region }) };
  const ctx = buildContext(deployment, terminal, values.json ?? false, values.local ?? false, clientConfig);
  switch (command) {
    case 'bootstrap': {
      const instance = findInstance(deployment, instanceName);
      const grant = values.grant ?? (await storedGrant(ctx, instance)) ?? 'password';
      if (grant === 'client_credentials' || grant === 'jwt_bearer') {
        return keylessGrant(ctx, instance, grant, {
          clientId: values['client-id'],
          username: values.username,
          newClient: values['new-client'] ?? false,
          passwordStdin: values['password-stdin'] ?? false,
          privateKeyFile: values['private-key'],
          certificateFile: values.certificate,
          waitMs: seconds(values.wait, 900, '--wait') * 1000,
          intervalMs: seconds(values['wait-interval'], 15, '--wait-interval') * 1000,
          readFile: (path) => readFileSync(path, 'utf8'),
        });
      }
      if (grant !== 'password') {
        throw new CliError(
          `Unknown grant "${grant}": use password, client_credentials or jwt_bearer.`,
          EXIT.usage,
        );
      }
      return passwordGrant(ctx, instance, 'bootstrap', {
        clientId: values['client-id'],
        username: values.username,
        passwordStdin: values['password-stdin'] ?? false,
        newClient: values['new-client'] ?? false,
      });
    }
    case 'renew': {
      const instance = findInstance(deployment, instanceName);
      const grant = await storedGrant(ctx, instance);
      if (grant && grant !== 'password') {
        throw new CliError(
          `${instance.name} is on the ${grant} grant, which has no refresh token to renew. To replace its credentials: snow-token bootstrap ${instance.name} --grant ${grant} --new-client`,
          EXIT.usage,
        );
      }
      return passwordGrant(ctx, instance, 'renew', {
        clientId: values['client-id'],
        username: values.username,
        passwordStdin: values['password-stdin'] ?? false,
        newClient: values['new-client'] ?? false,
      });
    }
    case 'status':
      return status(ctx);
    case 'refresh':
      return refresh(ctx, findInstance(deployment, instanceName));
    case 'doctor':
      return doctor(ctx, findInstance(deployment, instanceName));
    case 'handoff':
      return handoff(ctx, findInstance(deployment, instanceName), {
        consumer: values.to,
        clientId: values['client-id'],
        username: values.username,
        passwordStdin: values['password-stdin'] ?? false,
        output: values.output,
        lifespanDays: values['lifespan-days'],
        watch: values.watch ?? false,
      });
    case 'track':
      return track(ctx, findInstance(deployment, instanceName), {
        consumer: values.to,
        issued: values.issued,
        lifespanDays: values['lifespan-days'],
      });
    default:
      return testAlert(ctx);
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      deployment: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      profile: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      'client-id': { type: 'string' },
      username: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'new-client': { type: 'boolean' },
      local: { type: 'boolean' },
      grant: { type: 'string' },
      'private-key': { type: 'string' },
      certificate: { type: 'string' },
      wait: { type: 'string' },
      'wait-interval': { type: 'string' },
      to: { type: 'string' },
      output: { type: 'string' },
      issued: { type: 'string' },
      'lifespan-days': { type: 'string' },
      watch: { type: 'boolean' },
    },
  });
}

function seconds(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new CliError(`${flag} takes whole seconds, e.g. ${flag} ${fallback}.`, EXIT.usage);
  return Number(value);
}

async function storedGrant(ctx: CliContext, instance: InstanceConfig): Promise<string | undefined> {
  const read = await ctx.secrets.read(instance.credentialsSecretId);
  if (read.kind === 'missing') return undefined;
  try {
    return (JSON.parse(read.text) as { grant?: string }).grant;
  } catch {
    return undefined;
  }
}

function buildContext(
  deployment: Deployment,
  terminal: Terminal,
  json: boolean,
  local: boolean,
  clientConfig: { maxAttempts: number; region?: string },
): CliContext {
  const clock = systemClock;
  const dynamo = new DynamoDBClient(clientConfig);
  const secrets = new SecretsManagerSecretStore(new SecretsManagerClient(clientConfig));
  // Renew and bootstrap take the refresher's lease: they too refuse to write with a skewed clock.
  const state = new DynamoStateStore(dynamo, deployment.stateTableName, new AwsClock(clock));
  const incidents = new DynamoIncidentStore(dynamo, deployment.stateTableName);
  const notifier = new AwsNotifier({
    sns: new SNSClient(clientConfig),
    events: new EventBridgeClient(clientConfig),
    topicArn: deployment.alertTopicArn,
    busName: 'default',
  });
  // Logs from the shared cores go nowhere visible: the CLI speaks for itself on the terminal.
  const logger = new Logger({ serviceName: 'snow-token', logLevel: 'SILENT' });
  const alerts = new Alerts({
    store: incidents,
    notifier,
    clock,
    logger,
    owner: `cli/${randomUUID()}`,
    settings: {
      ...DEFAULT_ALERT_SETTINGS,
      deployment: deploymentFacts({
        STACK_NAME: deployment.stackName,
        ALERT_TOPIC_ARN: deployment.alertTopicArn,
      }),
    },
  });
  const agent = createServiceNowAgent();
  const serviceNow = serviceNowClients(agent, clock);
  // A forced refresh runs here, with the operator's own access: the deployed function takes only
  // per-token requests from its invokers (sync jobs), never a forced one. `--local` is now the
  // only way, and kept as an accepted no-op for scripts that pass it.
  void local;
  const handler = createRefresher(
    {
      clock,
      logger,
      secrets,
      state,
      tokenEndpoint: serviceNow,
      settings: {
        ...DEFAULT_REFRESH_SETTINGS,
        scheduleIntervalMs: deployment.scheduleIntervalSeconds * 1000,
      },
      owner: `cli/${randomUUID()}`,
    },
    deployment.instances,
  );
  const refresher: RefreshRequester = {
    async requestRefresh(instance) {
      const response = await handler({ action: 'refresh', instances: [instance], force: true });
      const result = response.results.findLast((r) => r.instance === instance);
      if (!result) throw new CliError(`the refresher returned nothing for ${instance}`, EXIT.failed);
      return result;
    },
  };
  return {
    deployment,
    terminal,
    clock,
    secrets,
    state,
    incidents,
    consumers: new ConsumerTokenStore(dynamo, deployment.stateTableName),
    alerts,
    notifier,
    refresher,
    serviceNow,
    json,
  };
}
