import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { METRICS } from './deployment-contract';

/** The narrow logging surface the cores use; Powertools' Logger satisfies it. */
export type Logger = Pick<PowertoolsLogger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * The functions' logger, named by POWERTOOLS_SERVICE_NAME as Powertools does: the construct sets it
 * to METRICS.service, the `service` dimension of every metric, so log lines and metrics name one
 * service. Where it is unset (tests, local runs), the same constant.
 */
export function createLogger(env: NodeJS.ProcessEnv): PowertoolsLogger {
  return new PowertoolsLogger({ serviceName: env.POWERTOOLS_SERVICE_NAME || METRICS.service });
}
