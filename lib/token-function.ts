import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DockerImage,
  type Duration,
  type ILocalBundling,
  type RemovalPolicy,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  type HandlerSource,
  locateHandler,
  type TokenFunctionName,
  writeHandlerBundle,
} from './handler-bundle';

export type { TokenFunctionName } from './handler-bundle';

/** The bundled file with the instance list, beside index.mjs; its path is relative to /var/task. */
export const INSTANCES_FILE = 'instances.json';

export interface TokenFunctionProps {
  /** The folder under lambda/ that holds handler.ts. */
  readonly entry: TokenFunctionName;
  readonly description: string;
  /** Lambda timeout; each handler budgets its own work inside it. */
  readonly timeout: Duration;
  /** @default - 256 MiB: plenty for a few HTTPS calls per instance; Lambda bills per ms at this size */
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
 * arm64, code bundled by esbuild without Docker (minified ESM, source maps, the AWS SDK bundled so
 * its version is the one we tested; see handler-bundle.ts for when that happens), an explicit log
 * group with retention, a role of its own with only the log permissions (callers add the rest
 * through grants), and a failure destination.
 */
export class TokenFunction extends Construct {
  readonly function: lambda.Function;
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
    // Staged through CDK's local bundling, like NodejsFunction: skipped where a stack needs no
    // bundles (`cdk synth` of another stack, tests), and the instance list goes in beside the code.
    const local = new HandlerBundling(props.entry, instancesFile, import.meta.url);
    const code = lambda.Code.fromAsset(local.source.dir, {
      // Never pulled: local bundling succeeds or throws.
      bundling: { image: DockerImage.fromRegistry('scratch'), local },
    });
    this.function = new lambda.Function(this, 'Function', {
      code,
      handler: 'index.handler',
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

/**
 * Writes one function's asset. Its fields are data, not only the closure, because CDK keys its
 * per-process asset cache on the bundling options as JSON: two functions, or two stacks with other
 * instance lists, must not share a bundle.
 */
class HandlerBundling implements ILocalBundling {
  readonly source: HandlerSource;
  readonly instancesSha256: string;

  constructor(
    readonly entry: TokenFunctionName,
    private readonly instancesFile: string,
    private readonly moduleUrl: string,
  ) {
    this.source = locateHandler(entry, moduleUrl);
    this.instancesSha256 = createHash('sha256').update(readFileSync(instancesFile)).digest('hex');
  }

  tryBundle(outputDir: string): boolean {
    writeHandlerBundle(this.source, outputDir, this.moduleUrl);
    copyFileSync(this.instancesFile, join(outputDir, INSTANCES_FILE));
    return true;
  }
}
