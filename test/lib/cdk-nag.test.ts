import { type App, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { stackFromConfig, testApp, testConfig } from '../../harness/cdk/synth';
import { ServiceNowTokenRefresher } from '../../lib/servicenow-token-refresher';

/** Every unacknowledged finding of the two packs bin/app.ts runs, as "rule at path" lines. */
function findings(app: App): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
  );
}

function acknowledgments(root: IConstruct): { path: string; id: string; reason: unknown }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  it('finds nothing unacknowledged in the default deployment', () => {
    const app = testApp();
    stackFromConfig(app, testConfig());

    expect(findings(app)).toEqual([]);
  });

  it('finds nothing unacknowledged with a customer managed key, a fixed environment and no subscriptions', () => {
    const app = testApp();
    stackFromConfig(
      app,
      testConfig({
        account: '123456789012',
        region: 'eu-west-1',
        secretNamePrefix: 'snow/',
        kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        alerts: { emails: [] },
      }),
    );

    expect(findings(app)).toEqual([]);
  });

  it('finds nothing unacknowledged when the construct publishes to a topic of its owner', () => {
    const app = testApp();
    const stack = new Stack(app, 'OwnTopic');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new ServiceNowTokenRefresher(stack, 'Tokens', {
      instances: [{ name: 'acme', url: 'https://acme.service-now.com' }],
      alertTopic: new sns.Topic(stack, 'Topic', { masterKey: key, enforceSSL: true }),
      operatorPrincipalArns: ['arn:aws:iam::123456789012:role/Operator'],
    });

    expect(findings(app)).toEqual([]);
  });

  it('does report a finding that nobody acknowledged (the check is live)', () => {
    const app = testApp();
    const stack = stackFromConfig(app, testConfig());
    new sns.Topic(stack, 'UnencryptedTopic');

    expect(findings(app)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SNS3 at .*UnencryptedTopic/)]),
    );
  });

  it('gives every acknowledgment a reason a reviewer can check', () => {
    const app = testApp();
    stackFromConfig(app, testConfig());
    const acks = acknowledgments(app);

    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(typeof ack.reason, `${ack.id} at ${ack.path}`).toBe('string');
      expect((ack.reason as string).length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });
});
