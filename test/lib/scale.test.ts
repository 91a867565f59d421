import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackFromConfig, testApp, testConfig } from '../../harness/cdk/synth';
import { INSTANCE_GROUP_COUNT, MAX_INSTANCES_PER_GROUP } from '../../lib/instance-groups';

// CloudFormation quotas: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
const MAX_RESOURCES = 500;
const MAX_OUTPUTS = 200;
const MAX_PARAMETERS = 200;
const MAX_TEMPLATE_BYTES = 1_048_576; // template body uploaded to S3, as cdk deploy does
const MAX_ROLE_POLICY_CHARS = 10_240; // IAM: inline policies per role, together
const MAX_DASHBOARD_BODY_BYTES = 1_048_576; // CloudWatch PutDashboard body

interface TemplateFacts {
  readonly file: string;
  readonly bytes: number;
  readonly resources: number;
  readonly outputs: number;
  readonly parameters: number;
  readonly json: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
}

let facts: TemplateFacts[];

beforeAll(() => {
  const instances = Array.from({ length: 200 }, (_, i) => {
    const name = `instance-${String(i + 1).padStart(3, '0')}`;
    return { name, url: `https://${name}.service-now.com` };
  });
  const app = testApp();
  // Every option on: the largest templates and dashboard these instances can make.
  stackFromConfig(app, testConfig({ instances, monitoring: { dashboard: true, perInstanceMetrics: true } }));
  const assembly = app.synth();
  const files = [
    ...assembly.stacks.map((s) => s.templateFile),
    ...readdirSync(assembly.directory).filter((f) => f.endsWith('.nested.template.json')),
  ];
  facts = files.map((file) => {
    const path = join(assembly.directory, file);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    return {
      file,
      bytes: statSync(path).size,
      resources: Object.keys(json.Resources ?? {}).length,
      outputs: Object.keys(json.Outputs ?? {}).length,
      parameters: Object.keys(json.Parameters ?? {}).length,
      json,
    };
  });
  console.log(
    `200 instances: ${facts.length} templates, ${facts.reduce((n, f) => n + f.resources, 0)} resources in all\n${facts
      .map(
        (f) =>
          `  ${f.file}: ${f.resources} resources, ${f.outputs} outputs, ${f.parameters} parameters, ${f.bytes} bytes`,
      )
      .join('\n')}`,
  );
}, 60_000);

describe('200 instances', () => {
  it('fit every template within CloudFormation limits on resources, outputs, parameters and size', () => {
    for (const f of facts) {
      expect(f.resources, f.file).toBeLessThanOrEqual(MAX_RESOURCES);
      expect(f.outputs, f.file).toBeLessThanOrEqual(MAX_OUTPUTS);
      expect(f.parameters, f.file).toBeLessThanOrEqual(MAX_PARAMETERS);
      expect(f.bytes, f.file).toBeLessThanOrEqual(MAX_TEMPLATE_BYTES);
    }
  });

  it('keep every instance: two secrets with a resource policy each, and no alarm of its own', () => {
    const count = (type: string) =>
      facts.reduce((n, f) => n + Object.values(f.json.Resources).filter((r) => r.Type === type).length, 0);

    expect(count('AWS::SecretsManager::Secret')).toBe(400);
    expect(count('AWS::SecretsManager::ResourcePolicy')).toBe(400);
    // 7 on the functions and the queue, 2 for the dead-man's switch over all instances.
    expect(count('AWS::CloudWatch::Alarm')).toBe(7 + 2);
  });

  it('leave room in every instance group', () => {
    const perGroup = facts
      .filter((f) => f.file.includes('InstanceGroup'))
      .map(
        (f) =>
          // Two policies per instance (credentials and access token).
          Object.values(f.json.Resources).filter((r) => r.Type === 'AWS::SecretsManager::ResourcePolicy')
            .length / 2,
      );

    expect(perGroup).toHaveLength(INSTANCE_GROUP_COUNT);
    expect(Math.max(...perGroup)).toBeLessThan(MAX_INSTANCES_PER_GROUP / 2);
  });

  it('keep each role policy and the dashboard the same size as for two instances', () => {
    const parent = facts[0]?.json;
    const policies = Object.values(parent?.Resources ?? {}).filter((r) => r.Type === 'AWS::IAM::Policy');
    const dashboard = Object.values(parent?.Resources ?? {}).find(
      (r) => r.Type === 'AWS::CloudWatch::Dashboard',
    );

    for (const policy of policies) {
      expect(JSON.stringify(policy.Properties?.PolicyDocument).length).toBeLessThan(
        MAX_ROLE_POLICY_CHARS / 2,
      );
    }
    expect(JSON.stringify(dashboard?.Properties?.DashboardBody).length).toBeLessThan(
      MAX_DASHBOARD_BODY_BYTES / 100,
    );
  });
});
