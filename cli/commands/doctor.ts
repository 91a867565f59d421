import { formatTime } from '../../lambda/shared/alerts/messages';
import { minimumAccessTokenLifespanSeconds } from '../../lambda/shared/deployment-contract';
import type { InstanceConfig } from '../../lambda/shared/instance-config';
import { HEALTHY_RECORDED_OUTCOMES } from '../../lambda/shared/refresh-outcome';
import { accessTokenSecretSchema } from '../../lambda/shared/secrets/access-token-secret';
import {
  type CredentialsSecret,
  parseSecretJson,
  refreshTokenExpiresAt,
} from '../../lambda/shared/secrets/credentials-secret';
import { describeOutcome, type Outcome } from '../../lambda/shared/servicenow/outcome';
import type { ProbeResult } from '../../lambda/shared/servicenow/servicenow-client';
import type { InstanceState } from '../../lambda/shared/state/instance-state';
import { instanceCommand } from '../command';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { storedCredentials } from '../stored-credentials';
import { paint } from '../terminal';

const DAY = 86_400_000;

/** fail: something to fix (the exit code says so); note: worth knowing, nothing is wrong. */
export type Verdict = 'ok' | 'note' | 'fail';

export interface Finding {
  readonly verdict: Verdict;
  /** A more exact name for this instance than the check's own (e.g. the grant it is on). */
  readonly name?: string;
  readonly detail: string;
  /** What to do; shown for a failure. */
  readonly fix?: string;
}

/** What doctor reads once, before the checks: nothing here spends a grant or writes anything. */
export interface DoctorFacts {
  readonly ctx: CliContext;
  readonly instance: InstanceConfig;
  readonly now: number;
  /** The probe without a token: any answer from the REST API (even 401) means the instance is up. */
  readonly reach: Outcome<ProbeResult>;
  readonly reachable: boolean;
  readonly credentials: CredentialsSecret | undefined;
  /** What the refresher last recorded for the instance. */
  readonly state: InstanceState | undefined;
}

export interface DoctorCheck {
  readonly name: string;
  /** The check's finding, or undefined where it does not apply (nothing stored yet to check). */
  run(facts: DoctorFacts): Promise<Finding | undefined> | Finding | undefined;
}

/** Run in this order; each explains a failure before it pages anyone, and names its fix. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  {
    name: 'instance reachable and awake',
    run: ({ instance, reach, reachable }) => ({
      verdict: reachable ? 'ok' : 'fail',
      detail:
        reach.kind === 'ok' || reachable ? `${instance.url} answers its REST API` : describeOutcome(reach),
      fix:
        reach.kind === 'unavailable' && reach.reason === 'hibernating'
          ? 'Wake the developer instance at https://developer.servicenow.com (it is wiped after 10 days unused).'
          : `Check that ${instance.url} is reachable from here and from AWS.`,
    }),
  },
  {
    name: 'credentials stored',
    run: ({ instance, credentials }) => ({
      verdict: credentials ? 'ok' : 'fail',
      detail: credentials
        ? `the credentials secret holds ${credentials.grant} grant credentials`
        : 'no valid credentials secret',
      fix: `snow-token bootstrap ${instance.name}`,
    }),
  },
  {
    // Doctor spends no grant: a refresh grant outside the lease whose answer is thrown away revokes
    // the stored refresh token on an instance that rotates them. It reads what the refresher saw
    // instead; "snow-token refresh" tests a grant under the lease.
    name: 'grant accepted',
    run: ({ instance, credentials, state }) => {
      if (!credentials) return undefined;
      const lastOutcome = state?.lastOutcome;
      const healthy = lastOutcome !== undefined && HEALTHY_RECORDED_OUTCOMES.includes(lastOutcome);
      return {
        verdict: healthy ? 'ok' : 'fail',
        name: `${credentials.grant} grant accepted`,
        detail:
          lastOutcome === undefined
            ? 'no refresh recorded yet'
            : healthy
              ? `the last grant succeeded${state?.lastSuccessAt !== undefined ? ` (${formatTime(state.lastSuccessAt)})` : ''}; doctor itself spends no grant`
              : `the last refresh ended "${lastOutcome}"${state?.lastOutcomeDetail ? `: ${state.lastOutcomeDetail}` : ''}`,
        fix:
          credentials.grant === 'password'
            ? `snow-token refresh ${instance.name} to try a grant now (under the refresher's lease); if refused: snow-token renew ${instance.name}`
            : `snow-token refresh ${instance.name} to try a grant now; if refused, fix the cause in ServiceNow or store new credentials: snow-token bootstrap ${instance.name} --grant ${credentials.grant} --new-client`,
      };
    },
  },
  {
    // The stored access token, as the sync jobs would use it: no grant spent.
    name: 'probe allowed',
    run: async ({ ctx, instance, credentials, reachable }) => {
      if (!credentials || !reachable) return undefined;
      const read = await ctx.secrets.read(instance.accessTokenSecretId);
      const stored = read.kind === 'value' ? parseSecretJson(accessTokenSecretSchema, read.text) : undefined;
      if (stored?.kind !== 'ok') return undefined;
      const probe = await ctx.serviceNow(instance).probe(stored.value.accessToken, instance.probePath);
      return {
        verdict: probe.kind === 'ok' ? 'ok' : 'fail',
        detail:
          probe.kind === 'ok'
            ? `a Table API read works (${probe.value.latencyMs} ms)`
            : describeOutcome(probe),
        fix: 'Give the integration user the role snc_platform_rest_api_access (itil contains it); check the table ACLs.',
      };
    },
  },
  {
    name: 'access token lifespan long enough',
    run: ({ ctx, state }) => {
      if (state?.accessTokenLifespanSeconds === undefined) return undefined;
      const minimum = minimumAccessTokenLifespanSeconds(ctx.deployment);
      return {
        verdict: state.accessTokenLifespanSeconds >= minimum ? 'ok' : 'fail',
        detail: `tokens live ${state.accessTokenLifespanSeconds} s (at least ${minimum} s needed)`,
        fix: 'In ServiceNow: System OAuth > Application Registry > (client) > Access Token Lifespan: 1800 or more (Exalate suggests 7200).',
      };
    },
  },
  {
    name: 'refresh token or certificate not near its end',
    run: ({ instance, credentials, now }) => {
      const end =
        credentials?.grant === 'password'
          ? refreshTokenExpiresAt(credentials)
          : credentials?.grant === 'jwt_bearer'
            ? Date.parse(credentials.certificateExpiresAt)
            : undefined;
      if (!credentials || end === undefined) return undefined;
      const days = Math.floor((end - now) / DAY);
      return {
        verdict: days > 30 ? 'ok' : 'fail',
        name: `${credentials.grant === 'password' ? 'refresh token' : 'signing certificate'} not near its end`,
        detail: days >= 0 ? `${days} days left (until ${formatTime(end)})` : 'expired',
        fix:
          credentials.grant === 'password'
            ? `snow-token renew ${instance.name}`
            : `snow-token bootstrap ${instance.name} --grant jwt_bearer --new-client`,
      };
    },
  },
  {
    name: 'grant without a cliff',
    run: ({ credentials }) =>
      credentials?.grant === 'password'
        ? {
            verdict: 'note',
            detail:
              'the password grant works, but its refresh token needs a human every 100 days. The client credentials or JWT bearer grant has no such cliff: see "Moving off the password grant" in the README',
          }
        : undefined,
  },
];

export const doctorCommand = instanceCommand({
  name: 'doctor',
  summary: 'checks that explain failures, each with its fix',
  description: `Checks, without changing anything and without spending a grant: the instance answers (or
hibernates), the refresher's last grant was accepted, the stored access token passes the probe, the
access-token lifespan suits the schedule, and the days left on the refresh token. Each failed check
prints its fix; a note is worth knowing and fails nothing. To try a grant now, under the
refresher's lease: snow-token refresh <instance>.`,
  options: {},
  run: doctor,
});

/** Gathers the facts, runs every check in order and prints each finding. Changes nothing. */
async function doctor(ctx: CliContext, instance: InstanceConfig): Promise<ExitCode> {
  const reach = await ctx.serviceNow(instance).probe('snow-token-doctor-no-token', instance.probePath);
  const facts: DoctorFacts = {
    ctx,
    instance,
    now: ctx.clock.now(),
    reach,
    reachable: reach.kind === 'unauthorized' || reach.kind === 'ok' || reach.kind === 'forbidden',
    credentials: await storedCredentials(ctx, instance),
    state: await ctx.state.get(instance.name),
  };
  const checks: (Finding & { readonly name: string })[] = [];
  for (const check of DOCTOR_CHECKS) {
    const finding = await check.run(facts);
    if (finding) checks.push({ ...finding, name: finding.name ?? check.name });
  }

  const { terminal } = ctx;
  if (ctx.json) {
    const rows = checks.map(({ name, verdict, detail, fix }) => ({
      name,
      ok: verdict !== 'fail',
      verdict,
      detail,
      ...(fix !== undefined && { fix }),
    }));
    terminal.out(JSON.stringify({ instance: instance.name, checks: rows }, null, 2));
  } else {
    for (const check of checks) {
      terminal.out(`${MARKS[check.verdict](terminal)} ${check.name}: ${check.detail}`);
      if (check.verdict === 'fail' && check.fix) terminal.out(`     fix: ${check.fix}`);
    }
  }
  return checks.some((c) => c.verdict === 'fail') ? EXIT.failed : EXIT.ok;
}

const MARKS: Record<Verdict, (terminal: CliContext['terminal']) => string> = {
  ok: (t) => paint(t, 'green', 'ok  '),
  note: (t) => paint(t, 'yellow', 'note'),
  fail: (t) => paint(t, 'red', 'FAIL'),
};
