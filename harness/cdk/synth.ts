import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, NestedStack, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  type DeploymentConfig,
  loadDeploymentConfig,
  parseDeploymentConfig,
} from '../../lib/deployment-config';
import { ServiceNowTokenRefresherStack } from '../../lib/servicenow-token-refresher-stack';

const ROOT = join(import.meta.dirname, '..', '..');

/** The feature flags and settings in cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface TestAppOptions {
  /** Run esbuild for each function. Off by default: template assertions do not need the bundles. */
  readonly bundling?: boolean;
  readonly outdir?: string;
}

export function testApp(options: TestAppOptions = {}): App {
  return new App({
    outdir: options.outdir,
    context: {
      ...cdkJsonContext(),
      'aws:cdk:version-reporting': false,
      ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
}

/** A valid configuration with `overrides` merged over it (top-level keys replaced). */
export function testConfig(overrides: Record<string, unknown> = {}): DeploymentConfig {
  return parseDeploymentConfig(
    {
      instances: [
        { name: 'acme', url: 'https://acme.service-now.com' },
        {
          name: 'globex',
          url: 'https://globex.service-now.com',
          probePath: '/api/now/table/incident?sysparm_limit=1',
        },
      ],
      alerts: { emails: ['ops@example.com'] },
      operatorPrincipalArns: ['arn:aws:iam::123456789012:role/ServiceNowTokenOperator'],
      ...overrides,
    },
    'test config',
  );
}

export function stackFromConfig(app: App, config: DeploymentConfig): ServiceNowTokenRefresherStack {
  return new ServiceNowTokenRefresherStack(app, config.stackName, {
    config,
    env: config.account || config.region ? { account: config.account, region: config.region } : undefined,
  });
}

export function nestedStacks(stack: Stack): NestedStack[] {
  return stack.node.findAll().filter((c): c is NestedStack => NestedStack.isNestedStack(c));
}

/** The parent template and every nested template, as assertion helpers. */
export function templates(stack: Stack): { parent: Template; nested: Template[] } {
  return { parent: Template.fromStack(stack), nested: nestedStacks(stack).map((n) => Template.fromStack(n)) };
}

/** Asset hashes change with every dependency bump; snapshots keep everything else. */
export function withoutAssetHashes(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[a-f0-9]{64}/g, '<asset-hash>'));
}

/** What bin/app.ts does with a configuration file, synthesis included (bundling skipped). */
export function synthFromConfigFile(path: string): void {
  const app = testApp();
  stackFromConfig(app, loadDeploymentConfig(path));
  app.synth();
}
