import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IncidentRouting } from '../../examples/incident-routing';
import { AlertingHarness } from '../../harness/alerting-harness';
import { RefresherFixture } from '../../harness/refresher-fixture';

const MINUTE = 60_000;
const DAY = 86_400_000;

let template: Template;

beforeAll(() => {
  const stack = new Stack(new App(), 'Routing');
  new IncidentRouting(stack, 'PagerDuty', {
    routingKey: secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'pagerduty/routing-key'),
  });
  template = Template.fromStack(stack);
});

/** The deployed rule's pattern, found by its description. */
function pattern(description: RegExp): unknown {
  const rule = Object.values(template.findResources('AWS::Events::Rule')).find((r) =>
    description.test(r.Properties.Description),
  );
  if (!rule) throw new Error(`no rule described ${description}`);
  return rule.Properties.EventPattern;
}

describe('the PagerDuty routing recipe (examples/incident-routing.ts)', () => {
  it('triggers with a dedup key of instance and kind, and resolves with the same key', () => {
    for (const action of ['trigger', 'resolve']) {
      template.hasResourceProperties('AWS::Events::Rule', {
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Destination'), 'Arn'] },
            InputTransformer: {
              InputPathsMap: Match.objectLike({
                'detail-instance': '$.detail.instance',
                'detail-kind': '$.detail.kind',
              }),
              InputTemplate: Match.stringLikeRegexp(
                `"event_action":"${action}","dedup_key":"<detail-instance>/<detail-kind>"`,
              ),
            },
          }),
        ],
      });
    }
    template.hasResourceProperties('AWS::Events::ApiDestination', {
      InvocationEndpoint: 'https://events.pagerduty.com/v2/enqueue',
      HttpMethod: 'POST',
    });
    // The routing key comes from the secret, never from the template.
    template.hasResourceProperties('AWS::Events::Connection', {
      AuthParameters: Match.objectLike({
        InvocationHttpParameters: {
          BodyParameters: [Match.objectLike({ Key: 'routing_key', IsValueSecret: true })],
        },
      }),
    });
  });

  describe('on the local EventBridge, with the events the functions put', () => {
    let fixture: RefresherFixture;
    afterEach(async () => {
      await fixture.close();
    });

    it('pages when an action-required incident opens or escalates, not on warnings, and resolves at the end', async () => {
      fixture = await RefresherFixture.create();
      const alerting = await AlertingHarness.create(fixture);
      const pages = await alerting.route('pages', pattern(/Pages on/));
      const resolves = await alerting.route('resolves', pattern(/Resolves/));
      await alerting.renew();

      // A 30-day warning (no page), then 7 days (action required: a page), then a renewal.
      fixture.clock.advance(70 * DAY + MINUTE);
      await alerting.watch()();
      const afterWarning = await pages();
      fixture.clock.advance(23 * DAY);
      await alerting.watch()();
      const afterEscalation = await pages();
      await alerting.renew();

      expect(afterWarning).toEqual([]);
      expect(afterEscalation).toEqual([
        {
          detailType: 'Incident Escalated',
          detail: expect.objectContaining({
            instance: 'acme',
            kind: 'refresh-token-expiry',
            severity: 'action-required',
          }),
        },
      ]);
      expect(await resolves()).toEqual([
        {
          detailType: 'Incident Resolved',
          detail: expect.objectContaining({ instance: 'acme', kind: 'refresh-token-expiry' }),
        },
      ]);
    });
  });
});
