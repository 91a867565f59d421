import { type Clock, systemClock } from '../../lambda/shared/clock';
import { SimulatedInstance } from './instance';
import { defaultInstanceSettings } from './instance-settings';
import { matchesLogFilter } from './request-log';
import type { InstanceSettings, LogFilter, LoggedRequest, SimInstance } from './types';

export interface ServiceNowSimulatorOptions {
  /**
   * Drives token lifetimes, rate-limit windows and log timestamps (network delays use real time).
   * @default systemClock
   */
  readonly clock?: Clock;
}

/**
 * ServiceNow instances on loopback that behave as docs/servicenow-behaviour.md describes: the opaque
 * 401, the echoed refresh token that is never extended, early refreshes, hibernation pages, rate limits,
 * plus injected network faults. Every request is logged with the real reason, like the instance's
 * system log.
 */
export class ServiceNowSimulator {
  /** Every request to every instance, in the order processed. */
  readonly log: LoggedRequest[] = [];
  readonly clock: Clock;
  private readonly instances = new Map<string, SimulatedInstance>();
  private readonly starting = new Set<string>();
  private closed = false;

  constructor(options: ServiceNowSimulatorOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts an instance on a free port of 127.0.0.1. */
  async addInstance(name: string, options: Partial<InstanceSettings> = {}): Promise<SimInstance> {
    if (this.closed) throw new Error(`Cannot add instance "${name}": the simulator is closed.`);
    if (name === '') throw new Error('Instance name must not be empty, e.g. "dev12345".');
    if (this.instances.has(name) || this.starting.has(name)) {
      throw new Error(`Instance "${name}" already exists; use instance("${name}") to reach it.`);
    }
    this.starting.add(name);
    try {
      const settings = { ...defaultInstanceSettings(), ...options };
      const instance = await SimulatedInstance.start(name, settings, this.clock, (entry) =>
        this.log.push(entry),
      );
      if (this.closed) {
        await instance.close();
        throw new Error(`Instance "${name}" was started while the simulator closed; it is closed again.`);
      }
      this.instances.set(name, instance);
      return instance;
    } finally {
      this.starting.delete(name);
    }
  }

  instance(name: string): SimInstance {
    const found = this.instances.get(name);
    if (found === undefined) {
      const known = [...this.instances.keys()].join(', ') || 'none';
      throw new Error(
        `No simulated instance "${name}" (known: ${known}); add it with addInstance("${name}").`,
      );
    }
    return found;
  }

  /** How many logged requests match: fields compared by equality, or a predicate. */
  count(filter?: LogFilter): number {
    return this.log.filter((entry) => matchesLogFilter(entry, filter)).length;
  }

  clearLog(): void {
    this.log.length = 0;
  }

  /** Closes every instance and destroys open sockets, hung ones included. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.instances.values()].map((instance) => instance.close()));
  }
}
