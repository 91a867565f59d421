import { formatTime } from '../../lambda/shared/alerts/messages';
import { deploymentCommand } from '../command';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../errors';

export const testAlertCommand = deploymentCommand({
  name: 'test-alert',
  summary: 'send a test email through the alert topic',
  description: 'Sends a test email through the alert topic so ops can confirm their subscriptions.',
  options: {},
  run: testAlert,
});

async function testAlert(ctx: CliContext): Promise<ExitCode> {
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
