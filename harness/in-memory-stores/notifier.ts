import type { Email, IntegrationEvent, Notifier } from '../../lambda/shared/alerts/notifier';

/** Keeps every email and event it is given, in order, for tests to read (and drain). */
export class RecordingNotifier implements Notifier {
  private readonly sentEmails: Email[] = [];
  private readonly sentEvents: IntegrationEvent[] = [];
  /** Emails to refuse before the next one goes out, as an SNS outage would. */
  failEmails = 0;

  async email(email: Email): Promise<void> {
    if (this.failEmails > 0) {
      this.failEmails--;
      throw Object.assign(new Error('injected: SNS is unavailable'), { name: 'InternalErrorException' });
    }
    this.sentEmails.push(structuredClone(email));
  }

  async publish(events: readonly IntegrationEvent[]): Promise<void> {
    this.sentEvents.push(...structuredClone(events));
  }

  /** Every email sent since the last call, in order. */
  emails(): Email[] {
    return this.sentEmails.splice(0);
  }

  /** Every event published since the last call, in order. */
  events(): IntegrationEvent[] {
    return this.sentEvents.splice(0);
  }
}
