import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

/** The narrow logging surface the cores use; Powertools' Logger satisfies it. */
export type Logger = Pick<PowertoolsLogger, 'debug' | 'info' | 'warn' | 'error'>;

export function createLogger(serviceName: string): PowertoolsLogger {
  return new PowertoolsLogger({ serviceName });
}
