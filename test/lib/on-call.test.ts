import { Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackFromConfig, templates, testApp, testConfig } from '../../harness/cdk/synth';
import type { ServiceNowTokenRefresherStack } from '../../lib/servicenow-token-refresher-stack';

const RUNBOOK = 'https://wiki.example.com/servicenow-token-runbook';

type FunctionResource = { Properties: { Environment?: { Variables?: Record<string, unknown> } } };

let template: Template;
let withoutRunbook: Template;
let prod: ServiceNowTokenRefresherStack;
let nestedProd: Template[];
let nestedStaging: Template[];

beforeAll(() => {
  const app = testApp();
  const staging = stackFromConfig(app, testConfig({ stackName: 'TokensStaging' }));
  prod = stackFromConfig(
    app,
    testConfig({
      stackName: 'TokensProd',
      account: '123456789012',
      region: 'eu-central-1',
      alerts: { emails: ['ops@example.com'], runbookUrl: RUNBOOK },
      monitoring: { dashboard: true },
    }),
  );
  template = Template.fromStack(prod);
  withoutRunbook = Template.fromStack(staging);
  nestedProd = templates(prod).nested;
  nestedStaging = templates(staging).nested;
});

const functions = (t: Template) =>
  Object.values(t.findResources('AWS::Lambda::Function')) as FunctionResource[];

describe('what the emails need to be self-sufficient', () => {
  it('every function gets the runbook URL and the stack, account and region its emails name', () => {
    const all = functions(template);

    expect(all).toHaveLength(3);
    for (const fn of all) {
      expect(fn.Properties.Environment?.Variables).toMatchObject({
        RUNBOOK_URL: RUNBOOK,
        STACK_NAME: 'TokensProd',
        STACK_ACCOUNT: '123456789012',
        STACK_REGION: 'eu-central-1',
      });
    }
  });

  it('without a runbook URL the functions are told there is none, and name the stack from CloudFormation', () => {
    for (const fn of functions(withoutRunbook)) {
      expect(fn.Properties.Environment?.Variables).toMatchObject({
        RUNBOOK_URL: '',
        STACK_NAME: 'TokensStaging',
        STACK_ACCOUNT: { Ref: 'AWS::AccountId' },
        STACK_REGION: { Ref: 'AWS::Region' },
      });
    }
  });

  it('refuses a runbook URL that is not an http(s) address, naming the field', () => {
    expect(() => testConfig({ alerts: { runbookUrl: 'docs/runbook.md' } })).toThrow(/alerts\.runbookUrl/);
  });
});

const alarmNames = (t: Template) =>
  Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string);

describe('alarms an SRE would keep', () => {
  it('ignore a single failed or throttled run: 2 of 3 five-minute periods', () => {
    for (const metric of ['Errors', 'Throttles']) {
      template.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        { MetricName: metric, Period: 300, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 1 },
        3,
      );
    }
  });

  it('alarm on the first failed scheduled run in the queue: that is never a blip', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      EvaluationPeriods: 1,
      Threshold: 1,
    });
  });

  it('link the runbook section from every description, the dead-man switch included', () => {
    const descriptions = [template, ...nestedProd].flatMap((t) =>
      Object.values(t.findResources('AWS::CloudWatch::Alarm')).map(
        (a) => a.Properties.AlarmDescription as string,
      ),
    );

    // Errors and throttles of 3 functions, the failed-invocations queue, the dead-man's 2 alarms.
    expect(descriptions).toHaveLength(7 + 2);
    // Descriptions that name a log group are CloudFormation joins: read them as text.
    for (const description of descriptions) {
      expect(JSON.stringify(description)).toMatch(new RegExp(`Runbook: ${RUNBOOK}#alarm-`));
    }
  });

  it('are named after the stack, so two stacks with the same secret prefix do not collide', () => {
    const prodNames = [template, ...nestedProd].flatMap(alarmNames);
    const stagingNames = [withoutRunbook, ...nestedStaging].flatMap(alarmNames);

    expect(prodNames).toContain('TokensProd-servicenow-token-refresher-errors');
    expect(prodNames).toContain('TokensProd-servicenow-token-no-refresh');
    expect(stagingNames).toContain('TokensStaging-servicenow-token-refresher-errors');
    expect(prodNames.filter((n) => stagingNames.includes(n))).toEqual([]);
    const dashboards = [template].flatMap((t) =>
      Object.values(t.findResources('AWS::CloudWatch::Dashboard')).map((d) => d.Properties.DashboardName),
    );
    expect(dashboards).toEqual(['TokensProd-servicenow-token']);
  });

  it('are exposed on the construct for routing elsewhere', () => {
    const names = prod.refresher.alarms.map((a) => (a.node.defaultChild as cloudwatch.CfnAlarm).alarmName);

    expect(names).toHaveLength(9);
    expect(names).toContain('TokensProd-servicenow-token-failed-invocations');
    expect(names).toContain('TokensProd-servicenow-token-no-refresh');
  });

  it('show on the dashboard with their state, above a table of the last failures the functions logged', () => {
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody,
    );

    expect(body).toContain('\\"type\\":\\"alarm\\"');
    for (const alarm of ['refresher-errors', 'probe-throttles', 'failed-invocations', 'no-refresh']) {
      expect(body).toContain(`:alarm:TokensProd-servicenow-token-${alarm}`);
    }
    expect(body).toContain('\\"type\\":\\"log\\"');
    expect(body).toMatch(/filter level in/);
    for (const fn of [
      'TokenRefresherLogGroup',
      'TokenRefresherProbeLogGroup',
      'TokenRefresherExpiryWatchLogGroup',
    ]) {
      expect(body).toContain(fn);
    }
  });
});
