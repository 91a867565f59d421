import { INCIDENT_KINDS, type Incident } from '../../lambda/shared/alerts/incident';
import { formatDuration, formatTime } from '../../lambda/shared/alerts/messages';
import { consumerProfile } from '../../lambda/shared/consumers/consumer-profiles';
import {
  type ConsumerToken,
  consumerDaysLeft,
  consumerTokenExpiresAt,
} from '../../lambda/shared/consumers/consumer-tokens';
import { refreshTokenExpiresAt } from '../../lambda/shared/secrets/credentials-secret';
import type { InstanceState } from '../../lambda/shared/state/instance-state';
import { deploymentCommand } from '../command';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { paint, table } from '../terminal';

const DAY = 86_400_000;

export const statusCommand = deploymentCommand({
  name: 'status',
  summary: 'every instance: token validity, refresh token days left, probes, open incidents',
  description: `Every instance of the deployment: until when its access token is valid, its last refresh and
its outcome, when its refresh token expires, its last probe, its open incidents; then the refresh
tokens handed off to (or tracked for) other tools. --json gives the same as data.`,
  options: {},
  run: status,
});

async function status(ctx: CliContext): Promise<ExitCode> {
  const names = ctx.deployment.instances.map((i) => i.name);
  const [states, incidents, consumerTokens] = await Promise.all([
    ctx.state.getMany(names),
    ctx.incidents.getMany(names, INCIDENT_KINDS),
    ctx.consumers.listMany(names),
  ]);
  const now = ctx.clock.now();
  const rows = ctx.deployment.instances.map((instance) => {
    const s: InstanceState | undefined = states.get(instance.name);
    const end = refreshTokenExpiresAt(s);
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

function openIncidents(incidents: Map<string, Incident>, name: string): string[] {
  return INCIDENT_KINDS.flatMap((kind) => {
    const incident = incidents.get(`${name}#incident#${kind}`);
    return incident?.status === 'open' ? [`${kind}${incident.reason ? ` (${incident.reason})` : ''}`] : [];
  });
}

/** The "tokens held by other tools" part of status. */
function consumerRows(tokens: readonly ConsumerToken[], now: number) {
  return tokens.map((t) => ({
    instance: t.instance,
    consumer: t.consumer,
    source: t.source,
    issuedAt: t.issuedAt,
    expiresAt: consumerTokenExpiresAt(t),
    daysLeft: consumerDaysLeft(t, now),
    rotating: t.rotating,
    watched: t.watched,
    fingerprint: t.fingerprint,
  }));
}

function printConsumerTable(ctx: CliContext, tokens: readonly ConsumerToken[], now: number): void {
  if (tokens.length === 0) return;
  const t = ctx.terminal;
  t.out('');
  t.out('TOKENS HELD BY OTHER TOOLS');
  t.out(
    table(
      ['INSTANCE', 'TOOL', 'ISSUED', 'EXPIRES', 'DAYS LEFT', 'CHECKED DAILY'],
      consumerRows(tokens, now).map((r) => [
        r.instance,
        consumerProfile(r.consumer).label,
        `${formatTime(r.issuedAt)} (${r.source})`,
        formatTime(r.expiresAt),
        paint(
          t,
          r.daysLeft <= 7 ? 'red' : r.daysLeft <= 30 ? 'yellow' : 'green',
          String(Math.max(r.daysLeft, 0)) + (r.daysLeft < 0 ? ' (expired)' : ''),
        ),
        r.rotating ? 'never (rotating)' : r.watched ? 'yes' : 'no',
      ]),
    ),
  );
}
