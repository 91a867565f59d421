import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackFromConfig, testApp, testConfig } from '../support/cdk/synth';

const RUNBOOK = 'https://wiki.example.com/servicenow-token-runbook';

type FunctionResource = { Properties: { Environment?: { Variables?: Record<string, unknown> } } };

let template: Template;
let withoutRunbook: Template;

beforeAll(() => {
  const app = testApp();
  const staging = stackFromConfig(app, testConfig({ stackName: 'TokensStaging' }));
  template = Template.fromStack(
    stackFromConfig(
      app,
      testConfig({
        stackName: 'TokensProd',
        account: '123456789012',
        region: 'eu-central-1',
        alerts: { emails: ['ops@example.com'], runbookUrl: RUNBOOK },
      }),
    ),
  );
  withoutRunbook = Template.fromStack(staging);
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
