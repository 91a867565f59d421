import { randomUUID } from 'node:crypto';
import type { Alerts } from '../lambda/shared/alerts/alerts';
import { INCIDENT_KINDS, type Incident } from '../lambda/shared/alerts/incident';
import type { IncidentStore } from '../lambda/shared/alerts/incident-store';
import { formatDuration, formatTime } from '../lambda/shared/alerts/messages';
import type { Notifier } from '../lambda/shared/alerts/notifier';
import type { Clock } from '../lambda/shared/clock';
import type { ConsumerTokenStore } from '../lambda/shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import { bootstrapWithCredentials, bootstrapWithPassword } from '../lambda/shared/password-bootstrap';
import type { RefreshRequester } from '../lambda/shared/refresh-requester';
import { accessTokenSecretSchema } from '../lambda/shared/secrets/access-token-secret';
import {
  type CredentialsSecret,
  credentialsSecretSchema,
  parseSecretJson,
  refreshTokenExpiresAt,
} from '../lambda/shared/secrets/credentials-secret';
import type { SecretStore } from '../lambda/shared/secrets/secret-store';
import { describeOutcome } from '../lambda/shared/servicenow/outcome';
import type { ServiceNowClient } from '../lambda/shared/servicenow/servicenow-client';
import type { InstanceState } from '../lambda/shared/state/instance-state';
import type { StateStore } from '../lambda/shared/state/state-store';
import type { Deployment } from './deployment';
import { CliError, EXIT, type ExitCode } from './errors';
import { consumerRows, printConsumerTable } from './handoff';
import { generateSigningKey, readSigningKey, type SigningKey } from './jwt-key';
import { paint, type Terminal, table } from './terminal';

const DAY = 86_400_000;

/** What the commands work with, built once per run by main.ts. */
export interface CliContext {
  readonly deployment: Deployment;
  readonly terminal: Terminal;
  readonly clock: Clock;
  readonly secrets: SecretStore;
  readonly state: StateStore;
  readonly incidents: IncidentStore;
  /** Refresh tokens handed off to (or tracked for) other tools. */
  readonly consumers: ConsumerTokenStore;
  readonly alerts: Alerts;
  readonly notifier: Notifier;
  readonly refresher: RefreshRequester;
  readonly serviceNow: (instance: InstanceConfig) => Pick<ServiceNowClient, 'requestToken' | 'probe'>;
  readonly json: boolean;
}

async function storedCredentials(
  ctx: CliContext,
  instance: InstanceConfig,
): Promise<CredentialsSecret | undefined> {
  const read = await ctx.secrets.read(instance.credentialsSecretId);
  if (read.kind === 'missing') return undefined;
  const parsed = parseSecretJson(credentialsSecretSchema, read.text);
  return parsed.kind === 'ok' ? parsed.value : undefined;
}

export interface PasswordGrantAnswers {
  readonly clientId?: string;
  readonly username?: string;
  readonly passwordStdin: boolean;
  /** bootstrap: ask for a client id and secret even if some are stored. */
  readonly newClient: boolean;
}

/**
 * bootstrap and renew: one password grant, a probe with the new token, then both secrets written
 * under the refresher's lease. The password lives in this function's memory only.
 */
export async function passwordGrant(
  ctx: CliContext,
  instance: InstanceConfig,
  mode: 'bootstrap' | 'renew',
  answers: PasswordGrantAnswers,
): Promise<ExitCode> {
  const { terminal } = ctx;
  const stored = await storedCredentials(ctx, instance);
  if (mode === 'renew' && !stored) {
    const read = await ctx.secrets.read(instance.credentialsSecretId);
    if (read.kind === 'missing') {
      throw new CliError(
        `No credentials are stored for ${instance.name}, so there is nothing to renew. Run "snow-token bootstrap ${instance.name}" instead.`,
        EXIT.environment,
      );
    }
    // The "credentials secret not valid" alert names renew as the fix: repair it rather than refuse.
    terminal.err(
      `The stored credentials secret of ${instance.name} is not valid, so renew replaces it: it asks for the OAuth client id and secret as well. Nothing is written until ServiceNow accepts them.`,
    );
  }
  const reuseClient = stored !== undefined && !(mode === 'bootstrap' && answers.newClient);
  const piped = answers.passwordStdin ? (await terminal.readAllInput()).split(/\r?\n/) : undefined;
  const fromPipe = (what: string): string => {
    const value = piped?.shift();
    if (!value) {
      throw new CliError(
        `--password-stdin: expected the ${what} on its own line of standard input.`,
        EXIT.usage,
      );
    }
    return value;
  };
  const askVisible = async (question: string, given?: string) => {
    if (given) return given;
    const answer = (await terminal.ask(question, { hidden: false })).trim();
    if (!answer) throw new CliError(`${question.replace(/:\s*$/, '')} is required.`, EXIT.usage);
    return answer;
  };
  const askHidden = async (question: string, what: string) => {
    if (piped) return fromPipe(what);
    const answer = await terminal.ask(question, { hidden: true });
    if (!answer) throw new CliError(`${what} is required; nothing was stored.`, EXIT.usage);
    return answer;
  };

  const clientId = reuseClient ? stored.clientId : await askVisible('OAuth client id: ', answers.clientId);
  const clientSecret = reuseClient
    ? stored.clientSecret
    : await askHidden('OAuth client secret (hidden): ', 'client secret');
  const username = await askVisible('Integration user name: ', answers.username);
  const password = await askHidden(`Password for ${username} (hidden, never stored): `, 'password');

  terminal.err(`Asking ${instance.url} for a new refresh token...`);
  const result = await bootstrapWithPassword(
    {
      clock: ctx.clock,
      secrets: ctx.secrets,
      state: ctx.state,
      client: ctx.serviceNow(instance),
      owner: `cli/${randomUUID()}`,
      alerts: ctx.alerts,
      verify: async (accessToken) => {
        const probe = await ctx.serviceNow(instance).probe(accessToken, instance.probePath);
        if (probe.kind === 'ok') return { ok: true };
        if (probe.kind === 'forbidden') {
          terminal.err(
            paint(
              terminal,
              'yellow',
              `Warning: the new token works, but the probe got 403 (${probe.message}). Give the user the role snc_platform_rest_api_access (itil contains it).`,
            ),
          );
          return { ok: true };
        }
        return { ok: false, message: `the new token did not pass the probe: ${describeOutcome(probe)}` };
      },
    },
    instance,
    {
      clientId,
      clientSecret,
      username,
      password,
      refreshTokenLifespanSeconds:
        stored?.grant === 'password' ? stored.refreshTokenLifespanSeconds : undefined,
    },
  );
  switch (result.kind) {
    case 'busy':
      throw new CliError(
        `Another writer (the refresher, or another operator) holds ${instance.name} right now. Try again in a minute; nothing was stored.`,
        EXIT.failed,
      );
    case 'failed':
    case 'refused':
      throw new CliError(
        `${mode} failed: ${result.message}. The stored credentials were left as they were.`,
        EXIT.failed,
      );
    case 'ok': {
      const days = Math.round((result.refreshTokenExpiresAt - ctx.clock.now()) / DAY);
      if (ctx.json) {
        terminal.out(
          JSON.stringify({
            instance: instance.name,
            refreshTokenExpiresAt: new Date(result.refreshTokenExpiresAt).toISOString(),
            accessTokenExpiresAt: new Date(result.accessTokenExpiresAt).toISOString(),
          }),
        );
      } else {
        terminal.out(paint(terminal, 'green', `Stored new credentials for ${instance.name}.`));
        terminal.out(
          `The refresh token expires on ${formatTime(result.refreshTokenExpiresAt)} (in ${days} days). Renew before then with: snow-token renew ${instance.name}`,
        );
      }
      return EXIT.ok;
    }
  }
}

function openIncidents(incidents: Map<string, Incident>, name: string): string[] {
  return INCIDENT_KINDS.flatMap((kind) => {
    const incident = incidents.get(`${name}#incident#${kind}`);
    return incident?.status === 'open' ? [`${kind}${incident.reason ? ` (${incident.reason})` : ''}`] : [];
  });
}

export async function status(ctx: CliContext): Promise<ExitCode> {
  const names = ctx.deployment.instances.map((i) => i.name);
  const [states, incidents, consumerTokens] = await Promise.all([
    ctx.state.getMany(names),
    ctx.incidents.getMany(names, INCIDENT_KINDS),
    ctx.consumers.listMany(names),
  ]);
  const now = ctx.clock.now();
  const rows = ctx.deployment.instances.map((instance) => {
    const s: InstanceState | undefined = states.get(instance.name);
    const end =
      s?.refreshTokenIssuedAt !== undefined && s.refreshTokenLifespanSeconds !== undefined
        ? s.refreshTokenIssuedAt + s.refreshTokenLifespanSeconds * 1000
        : undefined;
    return {
      instance: instance.name,
      accessTokenValidUntil: s?.accessTokenExpiresAt,
      lastRefresh: s?.lastAttemptAt,
      lastOutcome: s?.lastOutcome,
      refreshTokenExpiresAt: end,
      daysLeft: end === undefined ? undefined : Math.floor((end - now) / DAY),
      lastProbe: s?.lastProbeAt,
      lastProbeVerdict: s?.lastProbeVerdict,
      openIncidents: openIncidents(incidents, instance.name),
    };
  });
  if (ctx.json) {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    ctx.terminal.out(
      JSON.stringify(
        rows.map((r) => ({
          ...r,
          accessTokenValidUntil: iso(r.accessTokenValidUntil),
          lastRefresh: iso(r.lastRefresh),
          refreshTokenExpiresAt: iso(r.refreshTokenExpiresAt),
          lastProbe: iso(r.lastProbe),
          consumerTokens: consumerRows(
            consumerTokens.filter((c) => c.instance === r.instance),
            now,
          ).map((c) => ({ ...c, issuedAt: iso(c.issuedAt), expiresAt: iso(c.expiresAt) })),
        })),
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  const t = ctx.terminal;
  const when = (ms: number | undefined) => (ms === undefined ? '-' : formatTime(ms));
  const ago = (ms: number | undefined) => (ms === undefined ? '-' : `${formatDuration(now - ms)} ago`);
  t.out(
    table(
      [
        'INSTANCE',
        'ACCESS TOKEN VALID UNTIL',
        'LAST REFRESH',
        'REFRESH TOKEN EXPIRES',
        'DAYS LEFT',
        'LAST PROBE',
        'OPEN INCIDENTS',
      ],
      rows.map((r) => [
        r.instance,
        r.accessTokenValidUntil === undefined
          ? paint(t, 'yellow', 'not bootstrapped')
          : r.accessTokenValidUntil > now
            ? when(r.accessTokenValidUntil)
            : paint(t, 'red', `${when(r.accessTokenValidUntil)} (expired)`),
        r.lastRefresh === undefined ? '-' : `${ago(r.lastRefresh)} (${r.lastOutcome ?? '?'})`,
        when(r.refreshTokenExpiresAt),
        r.daysLeft === undefined
          ? '-'
          : paint(t, r.daysLeft <= 7 ? 'red' : r.daysLeft <= 30 ? 'yellow' : 'green', String(r.daysLeft)),
        r.lastProbe === undefined ? '-' : `${ago(r.lastProbe)} (${r.lastProbeVerdict ?? '?'})`,
        r.openIncidents.length ? paint(t, 'red', r.openIncidents.join(', ')) : 'none',
      ]),
    ),
  );
  printConsumerTable(ctx, consumerTokens, now);
  return EXIT.ok;
}

export async function refresh(ctx: CliContext, instance: InstanceConfig): Promise<ExitCode> {
  ctx.terminal.err(`Asking the refresher for a new token for ${instance.name}...`);
  const result = await ctx.refresher.requestRefresh(instance.name);
  const ok = result.outcome === 'refreshed' || result.outcome === 'current-token-returned';
  if (ctx.json) ctx.terminal.out(JSON.stringify(result));
  else {
    const until = result.accessTokenExpiresAt
      ? `; the stored token is valid until ${formatTime(Date.parse(result.accessTokenExpiresAt))}`
      : '';
    ctx.terminal.out(
      ok
        ? paint(ctx.terminal, 'green', `${instance.name}: ${result.outcome}${until}.`)
        : paint(
            ctx.terminal,
            'red',
            `${instance.name}: ${result.outcome}${result.detail ? `: ${result.detail}` : ''}`,
          ),
    );
  }
  return ok ? EXIT.ok : EXIT.failed;
}

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

/** Checks that explain failures before they page anyone. Changes nothing. */
export async function doctor(ctx: CliContext, instance: InstanceConfig): Promise<ExitCode> {
  const checks: Check[] = [];
  const client = ctx.serviceNow(instance);
  const now = ctx.clock.now();

  const reach = await client.probe('snow-token-doctor-no-token', instance.probePath);
  const reachable = reach.kind === 'unauthorized' || reach.kind === 'ok' || reach.kind === 'forbidden';
  checks.push({
    name: 'instance reachable and awake',
    ok: reachable,
    detail: reachable
      ? `${instance.url} answers its REST API`
      : describeOutcome(reach as Exclude<typeof reach, { kind: 'ok' }>),
    fix:
      reach.kind === 'unavailable' && reach.reason === 'hibernating'
        ? 'Wake the developer instance at https://developer.servicenow.com (it is wiped after 10 days unused).'
        : `Check that ${instance.url} is reachable from here and from AWS.`,
  });

  const credentials = await storedCredentials(ctx, instance);
  let accessToken: string | undefined;
  if (!credentials) {
    checks.push({
      name: 'credentials stored',
      ok: false,
      detail: 'no valid credentials secret',
      fix: `snow-token bootstrap ${instance.name}`,
    });
  } else {
    // Doctor spends no grant: a refresh grant outside the lease whose answer is thrown away revokes
    // the stored refresh token on an instance that rotates them. It reads what the refresher saw
    // instead, and tries the stored access token; "snow-token refresh" tests a grant under the lease.
    const last = await ctx.state.get(instance.name);
    const healthy = ['refreshed', 'current-token-returned', 'bootstrapped'];
    const lastOutcome = last?.lastOutcome;
    checks.push({
      name: `${credentials.grant} grant accepted`,
      ok: lastOutcome !== undefined && healthy.includes(lastOutcome),
      detail:
        lastOutcome === undefined
          ? 'no refresh recorded yet'
          : healthy.includes(lastOutcome)
            ? `the last grant succeeded${last?.lastSuccessAt !== undefined ? ` (${formatTime(last.lastSuccessAt)})` : ''}; doctor itself spends no grant`
            : `the last refresh ended "${lastOutcome}"${last?.lastOutcomeDetail ? `: ${last.lastOutcomeDetail}` : ''}`,
      fix:
        credentials.grant === 'password'
          ? `snow-token refresh ${instance.name} to try a grant now (under the refresher's lease); if refused: snow-token renew ${instance.name}`
          : `snow-token refresh ${instance.name} to try a grant now; if refused, fix the cause in ServiceNow or store new credentials: snow-token bootstrap ${instance.name} --grant ${credentials.grant} --new-client`,
    });
    if (reachable) {
      const read = await ctx.secrets.read(instance.accessTokenSecretId);
      const stored = read.kind === 'value' ? parseSecretJson(accessTokenSecretSchema, read.text) : undefined;
      accessToken = stored?.kind === 'ok' ? stored.value.accessToken : undefined;
    }
  }
  if (accessToken) {
    const probe = await client.probe(accessToken, instance.probePath);
    checks.push({
      name: 'probe allowed',
      ok: probe.kind === 'ok',
      detail:
        probe.kind === 'ok' ? `a Table API read works (${probe.value.latencyMs} ms)` : describeOutcome(probe),
      fix: 'Give the integration user the role snc_platform_rest_api_access (itil contains it); check the table ACLs.',
    });
  }
  const state = await ctx.state.get(instance.name);
  if (state?.accessTokenLifespanSeconds !== undefined) {
    const minimum = Math.max(
      900,
      2 * ctx.deployment.refreshAheadSeconds + ctx.deployment.scheduleIntervalSeconds,
    );
    checks.push({
      name: 'access token lifespan long enough',
      ok: state.accessTokenLifespanSeconds >= minimum,
      detail: `tokens live ${state.accessTokenLifespanSeconds} s (at least ${minimum} s needed)`,
      fix: 'In ServiceNow: System OAuth > Application Registry > (client) > Access Token Lifespan: 1800 or more (Exalate suggests 7200).',
    });
  }
  const end =
    credentials?.grant === 'password'
      ? refreshTokenExpiresAt(credentials)
      : credentials?.grant === 'jwt_bearer'
        ? Date.parse(credentials.certificateExpiresAt)
        : undefined;
  if (credentials && end !== undefined) {
    const what = credentials.grant === 'password' ? 'refresh token' : 'signing certificate';
    const days = Math.floor((end - now) / DAY);
    checks.push({
      name: `${what} not near its end`,
      ok: days > 30,
      detail: days >= 0 ? `${days} days left (until ${formatTime(end)})` : 'expired',
      fix:
        credentials.grant === 'password'
          ? `snow-token renew ${instance.name}`
          : `snow-token bootstrap ${instance.name} --grant jwt_bearer --new-client`,
    });
  }
  if (credentials?.grant === 'password') {
    checks.push({
      name: 'grant without a cliff',
      ok: true,
      detail:
        'the password grant works, but its refresh token needs a human every 100 days. The client credentials or JWT bearer grant has no such cliff: see "Moving off the password grant" in the README',
    });
  }

  if (ctx.json) ctx.terminal.out(JSON.stringify({ instance: instance.name, checks }, null, 2));
  else {
    for (const check of checks) {
      const mark = check.ok ? paint(ctx.terminal, 'green', 'ok  ') : paint(ctx.terminal, 'red', 'FAIL');
      ctx.terminal.out(`${mark} ${check.name}: ${check.detail}`);
      if (!check.ok && check.fix) ctx.terminal.out(`     fix: ${check.fix}`);
    }
  }
  return checks.every((c) => c.ok) ? EXIT.ok : EXIT.failed;
}

export async function testAlert(ctx: CliContext): Promise<ExitCode> {
  const now = ctx.clock.now();
  await ctx.notifier.email({
    subject: '[ServiceNow token] test alert',
    body: [
      `This is a test, sent with "snow-token test-alert" at ${formatTime(now)}.`,
      '',
      `If you can read it, alerts from the stack ${ctx.deployment.stackName} reach you. Nothing to do.`,
    ].join('\n'),
    attributes: { instance: '*', kind: 'test', severity: 'warning', notice: 'test', reason: 'test' },
  });
  ctx.terminal.out(
    `Sent a test alert to ${ctx.deployment.alertTopicArn}. Check your inbox (and spam folder).`,
  );
  return EXIT.ok;
}

export interface KeylessAnswers {
  readonly clientId?: string;
  readonly username?: string;
  readonly newClient: boolean;
  readonly passwordStdin: boolean;
  /** jwt_bearer: an existing key and certificate (files), instead of a new pair. */
  readonly privateKeyFile?: string;
  readonly certificateFile?: string;
  /** jwt_bearer: how long to wait for the certificate to be registered, and how often to try. */
  readonly waitMs: number;
  readonly intervalMs: number;
  readonly readFile: (path: string) => string;
}

const JWT_STEPS = (
  instance: InstanceConfig,
  clientId: string,
  username: string,
) => `In ServiceNow (${instance.url}), as an admin:
  1. System Definition > Certificates > New: name "snow-token ${instance.name}", Format PEM,
     Type "Trust Store Cert", and paste the certificate above into PEM Certificate. Submit.
  2. System OAuth > JWT Keys > New: name "snow-token ${instance.name}", Signing Keystore = that
     certificate, Signing Algorithm RSA 256. Submit.
  3. System OAuth > Application Registry > the OAuth client "${clientId}": open the
     "JWT Verifier Maps" related list > New: Sys certificate = that certificate. Submit.
     (For a new client: New > "Create an OAuth JWT API endpoint for external clients".)
  4. Make sure the user "${username}" is active, not locked, and has the roles your sync jobs need.`;

/**
 * bootstrap for grants without refresh tokens. client_credentials: the client id and secret,
 * verified with one grant. jwt_bearer: a key pair (new, or the operator's), the certificate and the
 * ServiceNow steps printed, then a grant tried until the admin has registered it. Nothing is stored
 * until ServiceNow accepts the grant.
 */
export async function keylessGrant(
  ctx: CliContext,
  instance: InstanceConfig,
  grant: 'client_credentials' | 'jwt_bearer',
  answers: KeylessAnswers,
): Promise<ExitCode> {
  const { terminal } = ctx;
  const stored = await storedCredentials(ctx, instance);
  const reuse = stored !== undefined && !answers.newClient;
  const piped = answers.passwordStdin ? (await terminal.readAllInput()).split(/\r?\n/) : undefined;
  const clientId = reuse
    ? stored.clientId
    : (answers.clientId ?? (await terminal.ask('OAuth client id: ', { hidden: false })).trim());
  let clientSecret = reuse ? stored.clientSecret : piped?.shift();
  clientSecret ??= await terminal.ask('OAuth client secret (hidden): ', { hidden: true });
  if (!clientId || !clientSecret)
    throw new CliError('The client id and secret are required; nothing was stored.', EXIT.usage);

  const deps = {
    clock: ctx.clock,
    secrets: ctx.secrets,
    state: ctx.state,
    client: ctx.serviceNow(instance),
    owner: `cli/${randomUUID()}`,
    alerts: ctx.alerts,
    verify: async (accessToken: string) => {
      const probe = await ctx.serviceNow(instance).probe(accessToken, instance.probePath);
      return probe.kind === 'ok' || probe.kind === 'forbidden'
        ? ({ ok: true } as const)
        : ({
            ok: false,
            message: `the new token did not pass the probe: ${describeOutcome(probe)}`,
          } as const);
    },
  };
  let credentials: Parameters<typeof bootstrapWithCredentials>[2];
  if (grant === 'client_credentials') {
    credentials = { schemaVersion: 1, grant, clientId, clientSecret };
  } else {
    const storedJwt = stored?.grant === 'jwt_bearer' && reuse ? stored : undefined;
    const username =
      answers.username ??
      storedJwt?.username ??
      (await terminal.ask('ServiceNow user the tokens act as (the JWT sub): ', { hidden: false })).trim();
    if (!username) throw new CliError('The user name is required; nothing was stored.', EXIT.usage);
    let key: SigningKey;
    if (answers.privateKeyFile || answers.certificateFile) {
      if (!answers.privateKeyFile || !answers.certificateFile) {
        throw new CliError(
          'Give both --private-key and --certificate, or neither to make a new pair.',
          EXIT.usage,
        );
      }
      try {
        key = readSigningKey(
          answers.readFile(answers.privateKeyFile),
          answers.readFile(answers.certificateFile),
        );
      } catch (error) {
        throw new CliError(`Cannot use that key and certificate: ${(error as Error).message}.`, EXIT.usage);
      }
    } else if (storedJwt) {
      key = {
        privateKeyPem: storedJwt.privateKeyPem,
        certificatePem: storedJwt.certificatePem,
        expiresAt: Date.parse(storedJwt.certificateExpiresAt),
      };
    } else {
      key = generateSigningKey({ subject: `snow-token ${instance.name}`, now: ctx.clock.now(), days: 730 });
    }
    credentials = {
      schemaVersion: 1,
      grant,
      clientId,
      clientSecret,
      username,
      privateKeyPem: key.privateKeyPem,
      certificatePem: key.certificatePem,
      certificateExpiresAt: new Date(key.expiresAt).toISOString(),
    };
    terminal.out(
      `The certificate ServiceNow must trust (valid until ${formatTime(key.expiresAt)}):\n\n${key.certificatePem}`,
    );
    terminal.out(JWT_STEPS(instance, clientId, username));
  }

  const deadline = ctx.clock.now() + (grant === 'jwt_bearer' ? answers.waitMs : 0);
  for (let attempt = 1; ; attempt++) {
    const result = await bootstrapWithCredentials(deps, instance, credentials);
    if (result.kind === 'ok') {
      terminal.out(
        paint(
          terminal,
          'green',
          `Stored ${grant} credentials for ${instance.name}: ServiceNow issued a token and the probe passed.`,
        ),
      );
      terminal.out(
        grant === 'jwt_bearer'
          ? `No refresh token, so no 100-day renewal. The certificate expires on ${formatTime(Date.parse((credentials as { certificateExpiresAt: string }).certificateExpiresAt))}; you will be warned before.`
          : 'No refresh token, so no 100-day renewal: nothing to renew, ever, unless the client secret changes.',
      );
      return EXIT.ok;
    }
    if (
      result.kind === 'busy' ||
      result.kind === 'refused' ||
      (result.kind === 'failed' && result.outcome.kind !== 'rejected')
    ) {
      const message =
        result.kind === 'busy' ? 'another writer holds the instance; try again in a minute' : result.message;
      throw new CliError(
        `bootstrap failed: ${message}. The stored credentials were left as they were.`,
        EXIT.failed,
      );
    }
    if (ctx.clock.now() + answers.intervalMs > deadline) {
      throw new CliError(
        `bootstrap failed: ${result.message}. The stored credentials were left as they were.`,
        EXIT.failed,
      );
    }
    if (attempt === 1)
      terminal.err(
        `Waiting for the certificate to be registered (trying every ${Math.round(answers.intervalMs / 1000)} s; Ctrl-C to stop, nothing is stored until it works)...`,
      );
    await ctx.clock.sleep(answers.intervalMs);
  }
}
