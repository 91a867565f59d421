/**
 * Recipe: page PagerDuty (Events API v2) from the refresher's incident events on EventBridge.
 * Opsgenie and other incident tools work the same way: another endpoint and another body.
 * Tested by test/lib/incident-routing.test.ts; docs/alert-routing.md explains it.
 */
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The events the refresher's functions put on the bus (lambda/shared/alerts/notifier.ts). */
export const INCIDENT_EVENT_SOURCE = 'servicenow-token-refresher';

/**
 * Incidents that need a person now: opened or escalated (a countdown reaching 7 days, an expiry)
 * as action-required; and an alert topic with no confirmed subscription, which no email can report.
 */
export const PAGE_PATTERN: events.EventPattern = {
  source: [INCIDENT_EVENT_SOURCE],
  detailType: ['Incident Opened', 'Incident Escalated', 'Alert Topic Unsubscribed'],
  detail: { severity: ['action-required'] },
};

/** Every incident's end: resolving an incident the tool never had is a no-op there. */
export const RESOLVE_PATTERN: events.EventPattern = {
  source: [INCIDENT_EVENT_SOURCE],
  detailType: ['Incident Resolved'],
};

export interface IncidentRoutingProps {
  /** A secret holding the PagerDuty integration's routing key (Events API v2), as plain text. */
  readonly routingKey: secretsmanager.ISecret;
  /** The bus the construct's `eventBus` prop names. @default - the account's default bus */
  readonly eventBus?: events.IEventBus;
  /** @default "https://events.pagerduty.com/v2/enqueue" */
  readonly endpoint?: string;
}

/** Two rules to one API destination: trigger on a page-worthy incident, resolve on its end. */
export class IncidentRouting extends Construct {
  readonly pageRule: events.Rule;
  readonly resolveRule: events.Rule;

  constructor(scope: Construct, id: string, props: IncidentRoutingProps) {
    super(scope, id);
    const key = props.routingKey.secretValue;
    const connection = new events.Connection(this, 'Connection', {
      description: 'PagerDuty Events API v2: the routing key travels in the body',
      authorization: events.Authorization.apiKey('X-Routing-Key', key),
      bodyParameters: { routing_key: events.HttpParameter.fromSecret(key) },
    });
    const destination = new events.ApiDestination(this, 'Destination', {
      connection,
      endpoint: props.endpoint ?? 'https://events.pagerduty.com/v2/enqueue',
      httpMethod: events.HttpMethod.POST,
      rateLimitPerSecond: 5,
    });
    // One incident per instance and kind: the dedup key ties the resolve to its trigger.
    const dedupKey = `${events.EventField.fromPath('$.detail.instance')}/${events.EventField.fromPath('$.detail.kind')}`;
    const body = (action: 'trigger' | 'resolve') =>
      events.RuleTargetInput.fromObject({
        event_action: action,
        dedup_key: dedupKey,
        payload: {
          summary: `ServiceNow token ${events.EventField.fromPath('$.detail.instance')}: ${events.EventField.fromPath('$.detail.kind')} (${events.EventField.fromPath('$.detail.reason')}); the email has the fix`,
          source: INCIDENT_EVENT_SOURCE,
          severity: 'critical',
          custom_details: { account: events.EventField.account, region: events.EventField.region },
        },
      });
    const bus = props.eventBus;
    this.pageRule = new events.Rule(this, 'Page', {
      description: 'Pages on a ServiceNow token incident that needs a person now',
      eventBus: bus,
      eventPattern: PAGE_PATTERN,
      targets: [new targets.ApiDestination(destination, { event: body('trigger') })],
    });
    this.resolveRule = new events.Rule(this, 'Resolve', {
      description: 'Resolves the page when the ServiceNow token incident is over',
      eventBus: bus,
      eventPattern: RESOLVE_PATTERN,
      targets: [new targets.ApiDestination(destination, { event: body('resolve') })],
    });
  }
}
