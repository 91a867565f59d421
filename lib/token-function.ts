import { join } from 'node:path';
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

const PROJECT_ROOT = join(import.meta.dirname, '..');

/** Where each function's entry lives: `lambda/<name>/handler.ts`, exporting `handler`. */
export type TokenFunctionName = 'refresher' | 'probe' | 'expiry-watch';

/** The bundled file with the instance list, beside index.mjs; its path is relative to /var/task. */
export const INSTANCES_FILE = 'instances.json';

export interface TokenFunctionProps {
  /** The folder under lambda/ that holds handler.ts. */
  readonly entry: TokenFunctionName;
  readonly description: string;
  /** Lambda timeout; each handler budgets its own work inside it. */
  readonly timeout: Duration;
  /** @default 256 MiB - plenty for a few HTTPS calls per instance; Lambda bills per ms at this size */
  readonly memorySize?: number;
  /** Path of the instances file written at synth; copied into the bundle as instances.json. */
  readonly instancesFile: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of the log group. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** Where failed asynchronous (scheduled) invocations go after their retries. */
  readonly onFailure: lambda.IDestination;
  /** Asynchronous retries before the failure destination. */
  readonly retryAttempts: number;
}

/**
 * The one factory for this system's functions, carrying the team defaults: pinned Node.js 24 on
 * arm64, esbuild bundling without Docker (minified ESM, source maps, the AWS SDK bundled so its
 * version is the one we tested), an explicit log group with retention, a role of its own with only
 * the log permissions (callers add the rest through grants), and a failure destination.
 */
export class TokenFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TokenFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    // A role of our own rather than the AWSLambdaBasicExecutionRole managed policy: it may write
    // to this function's log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    const instancesFile = props.instancesFile;
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, 'lambda', props.entry, 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { ...props.environment, INSTANCES_FILE },
      onFailure: props.onFailure,
      retryAttempts: props.retryAttempts,
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        // Some bundled CommonJS dependencies call require() for Node built-ins.
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        externalModules: [],
        logLevel: LogLevel.WARNING,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) => [
            `cp ${shellQuote(instancesFile)} ${shellQuote(join(outputDir, INSTANCES_FILE))}`,
          ],
        },
      },
    });

    Validations.of(this.function).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Failed asynchronous invocations go to an on-failure destination (EventInvokeConfig), which records the error as well as the event; a DeadLetterConfig would duplicate it.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'No X-Ray: each run is a handful of calls that the function logs (structured JSON) and counts (EMF metrics) per instance; tracing would add cost and IAM wildcards for no extra insight.',
      },
    );
  }
}

function shellQuote(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}
