import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Agent } from 'undici';
import type { RefreshDeps } from '../lambda/refresher/refresh-instance';
import { DEFAULT_REFRESH_SETTINGS, type RefreshSettings } from '../lambda/refresher/refresh-policy';
import { createRefresher, type RefresherDeps } from '../lambda/refresher/refresher';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import { bootstrapWithPassword } from '../lambda/shared/password-bootstrap';
import {
  type AccessTokenSecret,
  accessTokenSecretSchema,
} from '../lambda/shared/secrets/access-token-secret';
import {
  type CredentialsSecret,
  credentialsSecretSchema,
  type PasswordCredentials,
} from '../lambda/shared/secrets/credentials-secret';
import { type SecretStore, SecretsManagerSecretStore } from '../lambda/shared/secrets/secret-store';
import {
  createServiceNowAgent,
  type HttpLimits,
  ServiceNowClient,
  serviceNowClients,
} from '../lambda/shared/servicenow/servicenow-client';
import type { InstanceState } from '../lambda/shared/state/instance-state';
import {
  DynamoRefreshRequestLimit,
  type RefreshRequestLimit,
} from '../lambda/shared/state/refresh-request-limit';
import { DynamoStateStore, type StateStore } from '../lambda/shared/state/state-store';
import { InMemoryRefreshRequestLimit, InMemorySecretStore, InMemoryStateStore } from './in-memory-stores';
import { createLocalAws, type LocalAws } from './local-aws/aws-env';
import { OutputCapture } from './output-capture';
import {
  type InstanceSettings,
  type RegistryRecord,
  ServiceNowSimulator,
  type SimInstance,
} from './servicenow-simulator';
import { VirtualClock } from './virtual-clock';

export interface FixtureInstance {
  readonly config: InstanceConfig;
  readonly sim: SimInstance;
  readonly registry: RegistryRecord;
  readonly username: string;
  readonly password: string;
}

export interface FixtureOptions {
  readonly instances?: readonly { readonly name: string; readonly settings?: Partial<InstanceSettings> }[];
  readonly refresh?: Partial<RefreshSettings>;
  readonly http?: Partial<HttpLimits>;
  readonly registry?: Partial<RegistryRecord>;
  /** Default: a virtual clock starting on 2026-01-05; start it at Date.now() to share time with subprocesses. */
  readonly clock?: VirtualClock;
}

/**
 * The refresher wired to a ServiceNow simulator over real HTTP, on a virtual clock shared by both,
 * with its stores in the local AWS emulator (RefresherFixture) or in memory (InMemoryRefresherFixture).
 * Captures every log line so tests can inspect (and scan) them.
 */
export abstract class SimulatedRefresherFixture {
  readonly logs = new OutputCapture();
  readonly settings: RefreshSettings;
  private readonly agent: Agent;

  /** The HTTP agent every ServiceNow client of this fixture shares. */
  get dispatcher(): Agent {
    return this.agent;
  }
  private readonly closers: (() => Promise<void> | void)[] = [];
  private handlers = 0;

  protected constructor(
    readonly clock: VirtualClock,
    readonly sim: ServiceNowSimulator,
    readonly instances: readonly FixtureInstance[],
    readonly secrets: SecretStore,
    readonly state: StateStore,
    options: FixtureOptions,
  ) {
    this.settings = { ...DEFAULT_REFRESH_SETTINGS, ...options.refresh };
    this.agent = createServiceNowAgent({
      connectTimeoutMs: 2_000,
      headersTimeoutMs: 3_000,
      bodyTimeoutMs: 3_000,
    });
    this.logs.start();
  }

  /** The per-instance limit on refresh requests, shared by every environment of this fixture. */
  abstract requestLimit(): RefreshRequestLimit;

  instance(name = this.instances[0]?.config.name): FixtureInstance {
    const found = this.instances.find((i) => i.config.name === name);
    if (!found) throw new Error(`no fixture instance ${name}`);
    return found;
  }

  client(name?: string): ServiceNowClient {
    return new ServiceNowClient(this.instance(name).config.url, {
      dispatcher: this.agent,
      clock: this.clock,
    });
  }

  /** Dependencies as one execution environment of the refresher would hold them. */
  deps(overrides: Partial<RefreshDeps> = {}): RefreshDeps {
    return {
      clock: this.clock,
      logger: new Logger({ serviceName: 'servicenow-token-refresher', logLevel: 'DEBUG' }),
      secrets: this.secrets,
      state: this.state,
      tokenEndpoint: serviceNowClients(this.agent, this.clock),
      settings: this.settings,
      owner: `refresher/env-${++this.handlers}`,
      ...overrides,
    };
  }

  /**
   * A new execution environment of the refresher function (its own in-memory schedule). In-process
   * callers are operators (forced requests allowed); `invokers: 'anyone-with-invoke'` is the deployed function.
   */
  handler(overrides: Partial<RefresherDeps> = {}) {
    return createRefresher(
      { requestLimit: this.requestLimit(), ...this.deps(overrides), ...overrides },
      this.instances.map((i) => i.config),
    );
  }

  /** What `snow-token bootstrap` does: a password grant, both secrets and the state, under the lease. */
  async bootstrap(name?: string, owner = 'cli/test') {
    const instance = this.instance(name);
    const result = await bootstrapWithPassword(
      { clock: this.clock, secrets: this.secrets, state: this.state, client: this.client(name), owner },
      instance.config,
      {
        clientId: instance.registry.clientId,
        clientSecret: instance.registry.clientSecret,
        username: instance.username,
        password: instance.password,
      },
    );
    if (result.kind !== 'ok') throw new Error(`bootstrap failed: ${JSON.stringify(result)}`);
    return result;
  }

  async accessToken(name?: string): Promise<AccessTokenSecret | undefined> {
    const read = await this.secrets.read(this.instance(name).config.accessTokenSecretId);
    return read.kind === 'value' ? accessTokenSecretSchema.parse(JSON.parse(read.text)) : undefined;
  }

  /** The stored credentials of an instance on the password grant (most tests). */
  async credentials(name?: string): Promise<PasswordCredentials | undefined> {
    const credentials = await this.anyCredentials(name);
    if (credentials && credentials.grant !== 'password') {
      throw new Error(`${name ?? 'the instance'} is on the ${credentials.grant} grant; use anyCredentials()`);
    }
    return credentials;
  }

  async anyCredentials(name?: string): Promise<CredentialsSecret | undefined> {
    const read = await this.secrets.read(this.instance(name).config.credentialsSecretId);
    return read.kind === 'value' ? credentialsSecretSchema.parse(JSON.parse(read.text)) : undefined;
  }

  async rawSecret(secretId: string): Promise<string | undefined> {
    const read = await this.secrets.read(secretId);
    return read.kind === 'value' ? read.text : undefined;
  }

  async instanceState(name?: string): Promise<InstanceState | undefined> {
    return this.state.get(this.instance(name).config.name);
  }

  /** Values that must never appear in a log line: client secrets, passwords, every token issued. */
  secretValues(): string[] {
    return this.instances.flatMap((i) => [i.registry.clientSecret, i.password, ...i.sim.issuedTokens()]);
  }

  /** The secret values that appear in what the system logged so far: none, or a leak. */
  leakedSecrets(): string[] {
    const logged = this.logs.text();
    return this.secretValues().filter((secret) => logged.includes(secret));
  }

  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  private closed = false;

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.logs.stop();
    for (const fn of this.closers.splice(0)) await fn();
    await this.sim.close();
    await this.agent.close();
  }
}

/** Simulated instances, each with a client, a user and its two (empty) secrets. */
async function simulatedInstances(
  sim: ServiceNowSimulator,
  options: FixtureOptions,
  createSecret: (name: string) => Promise<string>,
): Promise<FixtureInstance[]> {
  const instances: FixtureInstance[] = [];
  for (const spec of options.instances ?? [{ name: 'acme' }]) {
    const simInstance = await sim.addInstance(spec.name, spec.settings);
    const registry = simInstance.addRegistry({
      clientId: `client-${spec.name}`,
      clientSecret: `cs-${randomBytes(12).toString('hex')}`,
      ...options.registry,
    });
    const password = `pw-${randomBytes(12).toString('hex')}`;
    simInstance.addUser({ username: 'svc.token', password });
    instances.push({
      config: {
        name: spec.name,
        url: simInstance.url,
        credentialsSecretId: await createSecret(`${spec.name}/credentials`),
        accessTokenSecretId: await createSecret(`${spec.name}/access-token`),
      },
      sim: simInstance,
      registry,
      username: 'svc.token',
      password,
    });
  }
  return instances;
}

/** The refresher with its stores in the local AWS emulator (the integration tier). */
export class RefresherFixture extends SimulatedRefresherFixture {
  private constructor(
    clock: VirtualClock,
    sim: ServiceNowSimulator,
    readonly aws: LocalAws,
    instances: readonly FixtureInstance[],
    options: FixtureOptions,
  ) {
    const secrets = new SecretsManagerSecretStore(aws.secrets);
    super(clock, sim, instances, secrets, new DynamoStateStore(aws.dynamo, aws.tableName), options);
  }

  static async create(options: FixtureOptions = {}): Promise<RefresherFixture> {
    const clock = options.clock ?? new VirtualClock();
    const sim = new ServiceNowSimulator({ clock });
    const aws = await createLocalAws();
    const instances = await simulatedInstances(sim, options, (name) => aws.createSecret(name));
    return new RefresherFixture(clock, sim, aws, instances, options);
  }

  /** In the emulator's state table. */
  requestLimit(): RefreshRequestLimit {
    return new DynamoRefreshRequestLimit(this.aws.dynamo, this.aws.tableName);
  }
}

/** The refresher with its stores in memory (the unit tier: no emulator). */
export class InMemoryRefresherFixture extends SimulatedRefresherFixture {
  private readonly limit = new InMemoryRefreshRequestLimit();

  private constructor(
    clock: VirtualClock,
    sim: ServiceNowSimulator,
    instances: readonly FixtureInstance[],
    stores: { readonly secrets: InMemorySecretStore; readonly state: InMemoryStateStore },
    options: FixtureOptions,
  ) {
    super(clock, sim, instances, stores.secrets, stores.state, options);
  }

  static async create(options: FixtureOptions = {}): Promise<InMemoryRefresherFixture> {
    const clock = options.clock ?? new VirtualClock();
    const sim = new ServiceNowSimulator({ clock });
    const secrets = new InMemorySecretStore();
    const instances = await simulatedInstances(sim, options, async (name) => secrets.create(name));
    return new InMemoryRefresherFixture(
      clock,
      sim,
      instances,
      { secrets, state: new InMemoryStateStore() },
      options,
    );
  }

  requestLimit(): RefreshRequestLimit {
    return this.limit;
  }
}

export interface SecretWrite {
  readonly at: number;
  readonly secretId: string;
  readonly value: Record<string, unknown>;
}

/**
 * Records every PutSecretValue the system sends, with the virtual time it was sent, through the SDK's
 * own middleware stack (observation only: the call still goes to the emulator).
 */
export function recordSecretWrites(fixture: RefresherFixture): SecretWrite[] {
  const writes: SecretWrite[] = [];
  fixture.aws.secrets.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutSecretValueCommand') {
        const input = args.input as { SecretId: string; SecretString: string };
        writes.push({
          at: fixture.clock.now(),
          secretId: input.SecretId,
          value: JSON.parse(input.SecretString),
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordSecretWrites' },
  );
  return writes;
}
