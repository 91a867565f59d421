import type { Command } from './command';
import { bootstrapCommand } from './commands/bootstrap';
import { doctorCommand } from './commands/doctor';
import { handoffCommand } from './commands/handoff';
import { refreshCommand } from './commands/refresh';
import { renewCommand } from './commands/renew';
import { statusCommand } from './commands/status';
import { testAlertCommand } from './commands/test-alert';
import { trackCommand } from './commands/track';

/** Every command of snow-token, in the order the help lists them. Nothing runs that is not here. */
export const COMMANDS: readonly Command[] = [
  bootstrapCommand,
  renewCommand,
  statusCommand,
  refreshCommand,
  doctorCommand,
  testAlertCommand,
  handoffCommand,
  trackCommand,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
