import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Output,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { localAwsConfig } from '../local-aws/aws-env';

/** The emulator's account and region, which CloudFormation substitutes for the pseudo parameters. */
const ACCOUNT = '123456789012';

interface AssetManifest {
  files: Record<
    string,
    {
      source: { path: string; packaging?: 'zip' | 'file' };
      destinations: Record<string, { bucketName: string; objectKey: string }>;
    }
  >;
}

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

export interface DeployedStack {
  readonly stackName: string;
  readonly status: string;
  readonly outputs: Record<string, string>;
  /** Resources of the stack and its nested stacks that the emulator created, by logical ID. */
  readonly resources: StackResourceSummary[];
  /** Resources in the templates that the emulator's CloudFormation does not implement, as `Type logicalId`. */
  readonly notModeled: string[];
  /** Of those, the ones put in place through their service's API instead (see `standIns`). */
  readonly stoodIn: string[];
}

function s3Name(name: string, region: string): string {
  return name.replace(/\$\{AWS::AccountId\}/g, ACCOUNT).replace(/\$\{AWS::Region\}/g, region);
}

/**
 * Does against the local emulator what `cdk bootstrap` and `cdk deploy` do against AWS: creates
 * the bootstrap bucket and version parameter, uploads every asset of the cloud assembly (function
 * bundles zipped, nested templates as files) to where the templates expect them, and creates the
 * stack from its uploaded template. Resource types that the emulator's CloudFormation cannot model
 * are skipped by it; `standIns` creates some of them through their own APIs, from the template's
 * own properties.
 */
export async function deployToEmulator(
  assemblyDir: string,
  stackName: string,
  region: string,
): Promise<DeployedStack> {
  const aws = { ...localAwsConfig(), region };
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const cfn = new CloudFormationClient(aws);
  await new SSMClient(aws).send(
    new PutParameterCommand({
      Name: '/cdk-bootstrap/hnb659fds/version',
      Value: '30',
      Type: 'String',
      Overwrite: true,
    }),
  );

  const manifest = JSON.parse(
    readFileSync(join(assemblyDir, `${stackName}.assets.json`), 'utf8'),
  ) as AssetManifest;
  const buckets = new Set<string>();
  let templateUrl: string | undefined;
  for (const asset of Object.values(manifest.files)) {
    const source = join(assemblyDir, asset.source.path);
    const body = asset.source.packaging === 'zip' ? zipDirectory(source) : readFileSync(source);
    for (const destination of Object.values(asset.destinations)) {
      const bucket = s3Name(destination.bucketName, aws.region);
      if (!buckets.has(bucket)) {
        const location =
          region === 'us-east-1'
            ? {}
            : { CreateBucketConfiguration: { LocationConstraint: region as never } };
        await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location })).catch((error: Error) => {
          if (error.name !== 'BucketAlreadyOwnedByYou') throw error;
        });
        buckets.add(bucket);
      }
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: destination.objectKey, Body: body }));
      if (asset.source.path === `${stackName}.template.json`) {
        templateUrl = `https://s3.${aws.region}.amazonaws.com/${bucket}/${destination.objectKey}`;
      }
    }
  }
  if (!templateUrl) throw new Error(`the asset manifest of ${stackName} does not upload its template`);

  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateURL: templateUrl,
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
    }),
  );
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  const resources = await listResourcesDeep(cfn, stackName);

  const templates = [
    { name: stackName, template: readTemplate(assemblyDir, `${stackName}.template.json`) },
    ...Object.values(manifest.files)
      .filter((a) => a.source.path.endsWith('.nested.template.json'))
      .map((a) => ({ name: a.source.path, template: readTemplate(assemblyDir, a.source.path) })),
  ];
  const created = new Set(resources.map((r) => `${r.ResourceType} ${r.LogicalResourceId}`));
  const declared = templates.flatMap(({ template }) =>
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type !== 'AWS::CDK::Metadata')
      .map(([id, r]) => ({ key: `${r.Type} ${id}`, resource: r })),
  );
  const missing = declared.filter((d) => !created.has(d.key));
  const stoodIn = await standIns(
    missing.map((m) => m.resource),
    aws,
  );

  return {
    stackName,
    status: stack?.StackStatus ?? 'UNKNOWN',
    outputs: Object.fromEntries((stack?.Outputs ?? []).map((o: Output) => [o.OutputKey, o.OutputValue])),
    resources,
    notModeled: missing.map((m) => m.key),
    stoodIn: missing.filter((m) => stoodIn.includes(m.resource)).map((m) => m.key),
  };
}

/** Reads a deployed object back, e.g. a function's code as Lambda would fetch it. */
export async function downloadObject(bucket: string, key: string, region: string): Promise<Uint8Array> {
  const s3 = new S3Client({ ...localAwsConfig(), region, forcePathStyle: true });
  const out = await s3.send(new GetObjectCommand({ Bucket: s3Name(bucket, region), Key: key }));
  return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
}

/** Unzips a function bundle into a fresh directory, as Lambda unpacks it into /var/task. */
export function unzipToDirectory(zip: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployed-bundle-'));
  execFileSync(
    'python3',
    [
      '-c',
      'import io,sys,zipfile; zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())).extractall(sys.argv[1])',
      dir,
    ],
    {
      input: zip,
    },
  );
  return dir;
}

/**
 * The emulator's CloudFormation has no model of Secrets Manager secrets, yet the refresh cycle
 * needs them: create each one through the Secrets Manager API with the template's own name,
 * description and tags, and no value, as CloudFormation would. Returns the resources it handled.
 */
async function standIns(
  missing: Template['Resources'][string][],
  aws: ReturnType<typeof localAwsConfig>,
): Promise<Template['Resources'][string][]> {
  const secrets = new SecretsManagerClient(aws);
  const handled: Template['Resources'][string][] = [];
  for (const resource of missing) {
    if (resource.Type !== 'AWS::SecretsManager::Secret') continue;
    const p = resource.Properties as {
      Name: string;
      Description?: string;
      Tags?: { Key: string; Value: string }[];
      SecretString?: unknown;
      GenerateSecretString?: unknown;
    };
    if (p.SecretString !== undefined || p.GenerateSecretString !== undefined) {
      throw new Error(`${p.Name}: the stand-in only creates secrets without a value`);
    }
    await secrets.send(new CreateSecretCommand({ Name: p.Name, Description: p.Description, Tags: p.Tags }));
    handled.push(resource);
  }
  return handled;
}

async function listResourcesDeep(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<StackResourceSummary[]> {
  const out = await cfn.send(new ListStackResourcesCommand({ StackName: stackName }));
  const own = out.StackResourceSummaries ?? [];
  const nested = await Promise.all(
    own
      .filter((r) => r.ResourceType === 'AWS::CloudFormation::Stack' && r.PhysicalResourceId)
      .map((r) => listResourcesDeep(cfn, r.PhysicalResourceId as string)),
  );
  return [...own, ...nested.flat()];
}

function readTemplate(dir: string, file: string): Template {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as Template;
}

function zipDirectory(dir: string): Buffer {
  return execFileSync(
    'python3',
    [
      '-c',
      [
        'import io,os,sys,zipfile',
        'b=io.BytesIO()',
        'z=zipfile.ZipFile(b,"w",zipfile.ZIP_DEFLATED)',
        'for r,_,fs in os.walk(sys.argv[1]):',
        '  [z.write(os.path.join(r,f),os.path.relpath(os.path.join(r,f),sys.argv[1])) for f in sorted(fs)]',
        'z.close()',
        'sys.stdout.buffer.write(b.getvalue())',
      ].join('\n'),
      dir,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
}
