import { formatTime } from '../../lambda/shared/alerts/messages';
import type { InstanceConfig } from '../../lambda/shared/instance-config';
import { instanceCommand } from '../command';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../errors';
import { paint } from '../terminal';

export const refreshCommand = instanceCommand({
  name: 'refresh',
  summary: 'ask the refresher for an immediate refresh and show the result',
  description: `Forces an immediate refresh, run from this machine with your own access (the operators' role may
write the instance's secrets; the deployed function takes no forced requests from its invokers).`,
  options: {
    // Scripts written when a forced refresh invoked the deployed function pass it still.
    local: { type: 'boolean', help: 'accepted and changes nothing: the refresh always runs from here' },
  },
  run: refresh,
});

async function refresh(ctx: CliContext, instance: InstanceConfig): Promise<ExitCode> {
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
