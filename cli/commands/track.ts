import { formatTime } from '../../lambda/shared/alerts/messages';
import { consumerProfile } from '../../lambda/shared/consumers/consumer-profiles';
import { type ConsumerToken, consumerDaysLeft } from '../../lambda/shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../../lambda/shared/instance-config';
import { instanceCommand } from '../command';
import { consumerName, LIFESPAN_DAYS_OPTION, lifespanSeconds, recordConsumerToken } from '../consumer-record';
import type { CliContext } from '../context';
import { CliError, EXIT, type ExitCode } from '../errors';

export const trackCommand = instanceCommand({
  name: 'track',
  summary: 'count down a refresh token another tool got elsewhere (e.g. from a curl password grant)',
  description: `Records a refresh token that a tool got elsewhere (e.g. Exalate's curl step), counted from the day
it was issued (2026-01-05, or 2026-01-05T09:30Z), so the deployment warns before it expires. No
token value is asked for or stored. Replaces the tool's earlier record on this instance.`,
  options: {
    to: { type: 'string', value: '<tool>', help: 'the tool that holds the token, e.g. exalate' },
    issued: { type: 'string', value: '<date>', help: 'when the token was minted, e.g. 2026-01-05' },
    'lifespan-days': LIFESPAN_DAYS_OPTION,
  },
  run: (ctx, instance, options) =>
    track(ctx, instance, {
      consumer: options.to,
      issued: options.issued,
      lifespanDays: options['lifespan-days'],
    }),
});

interface TrackOptions {
  readonly consumer: string | undefined;
  readonly issued?: string;
  readonly lifespanDays?: string;
}

function parseIssued(given: string | undefined, instance: string, consumer: string, now: number): number {
  if (!given) {
    throw new CliError(
      `Say when the token was minted: snow-token track ${instance} --to ${consumer} --issued 2026-01-05 (the day of the curl password grant; a time such as 2026-01-05T09:30Z is more exact).`,
      EXIT.usage,
    );
  }
  const at = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(given) ? `${given}T00:00:00Z` : given);
  if (Number.isNaN(at)) {
    throw new CliError(
      `--issued "${given}" is not a date: use e.g. 2026-01-05 or 2026-01-05T09:30Z`,
      EXIT.usage,
    );
  }
  if (at > now) throw new CliError(`--issued ${given} is in the future.`, EXIT.usage);
  return at;
}

/** `snow-token track <instance> --to <consumer> --issued <date>`: a token minted elsewhere, counted down from its issue date. */
async function track(ctx: CliContext, instance: InstanceConfig, options: TrackOptions): Promise<ExitCode> {
  const consumer = consumerName(options.consumer, 'track', instance.name);
  const profile = consumerProfile(consumer);
  const now = ctx.clock.now();
  const issuedAt = parseIssued(options.issued, instance.name, consumer, now);
  const record: ConsumerToken = {
    consumer,
    instance: instance.name,
    source: 'track',
    issuedAt,
    lifespanSeconds: lifespanSeconds(ctx, instance, options.lifespanDays),
    rotating: false,
    watched: false,
    recordedAt: now,
  };
  const { replaced, expiresAt } = await recordConsumerToken(ctx, instance, record);
  const days = consumerDaysLeft(record, now);
  ctx.terminal.out(
    `Tracking ${profile.label}'s refresh token for ${instance.name}: it expires on ${formatTime(expiresAt)} (${days < 0 ? 'already expired' : `${days} days left`}).${replaced ? ' This replaces the record kept before for this tool.' : ''}`,
  );
  ctx.terminal.out(`Renew it before then with: snow-token handoff ${instance.name} --to ${consumer}`);
  return EXIT.ok;
}
