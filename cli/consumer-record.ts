import { CONSUMER_KINDS } from '../lambda/expiry-watch/consumer-watch';
import {
  CONSUMER_NAME,
  type ConsumerToken,
  consumerTokenExpiresAt,
} from '../lambda/shared/consumers/consumer-tokens';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import type { OptionSpec } from './command';
import type { CliContext } from './context';
import { CliError, EXIT } from './errors';

/** --to: the tool that holds the token, as its records and alerts name it. */
export function consumerName(
  given: string | undefined,
  command: 'handoff' | 'track',
  instance: string,
): string {
  if (!given) {
    throw new CliError(
      `Name the tool that will hold the token: snow-token ${command} ${instance} --to exalate`,
      EXIT.usage,
    );
  }
  if (!CONSUMER_NAME.test(given)) {
    throw new CliError(
      `--to "${given}": use lower-case letters, digits and dashes, e.g. --to exalate or --to exalate-prod`,
      EXIT.usage,
    );
  }
  return given;
}

/** handoff and track: the lifespan the token is counted down with. */
export const LIFESPAN_DAYS_OPTION = {
  type: 'string',
  value: '<days>',
  help: "the client's refresh token lifespan (default: the instance's configured one)",
} as const satisfies OptionSpec;

/** --lifespan-days, else the instance's configured refresh-token lifespan, else ServiceNow's 100 days. */
export function lifespanSeconds(
  ctx: CliContext,
  instance: InstanceConfig,
  given: string | undefined,
): number {
  if (given !== undefined) {
    if (!/^\d+$/.test(given) || Number(given) < 1 || Number(given) > 3650) {
      throw new CliError(
        '--lifespan-days takes whole days from 1 to 3650, e.g. --lifespan-days 100',
        EXIT.usage,
      );
    }
    return Number(given) * 86_400;
  }
  const configured = ctx.deployment.refreshTokenLifespanDays?.[instance.name];
  return (configured ?? 100) * 86_400;
}

/**
 * Records the tool's new token (replacing its earlier record on the instance) and ends the old
 * token's incidents, each with its recovery email. Returns the record replaced, if any, and when
 * the new token expires.
 */
export async function recordConsumerToken(ctx: CliContext, instance: InstanceConfig, record: ConsumerToken) {
  const replaced = await ctx.consumers.record(record);
  const expiresAt = consumerTokenExpiresAt(record);
  for (const kind of CONSUMER_KINDS) {
    await ctx.alerts.observe(
      { name: instance.name, url: instance.url, consumer: record.consumer },
      kind,
      { active: false },
      { consumerTokenExpiresAt: expiresAt, consumerClientId: record.clientId },
    );
  }
  return { replaced, expiresAt };
}
