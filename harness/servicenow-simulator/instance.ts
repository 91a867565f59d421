import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../lambda/shared/clock';
import { httpActivity } from '../http-activity';
import { FaultBook, rateLimitWindowResponse, reencoded, replacementResponse } from './faults';
import { defaultGrantHandlers, type GrantContext } from './grant-handlers';
import { hibernationResponse } from './html-pages';
import type { IncomingCall } from './incoming-call';
import { newRegistryRecord, newUser } from './instance-settings';
import { HourlyRateLimiter } from './rate-limiter';
import { RealTimeWaits } from './real-time-waits';
import { logEntry } from './request-log';
import { type Delivery, deliver } from './response-writer';
import { errorEnvelope, type SimResponse } from './responses';
import { answerRestApi, REST_API_PREFIX } from './rest-api';
import { answerRevocation, REVOKE_PATH } from './revocation-endpoint';
import { answerTokenRequest, TOKEN_PATH } from './token-endpoint';
import { TokenStore } from './token-store';
import type {
  FaultRule,
  InstanceSettings,
  LoggedRequest,
  RegistryRecord,
  SimInstance,
  SimUser,
  TokenRecord,
} from './types';

/** Larger request bodies get 413; no client of this project sends more than a few hundred bytes. */
const MAX_REQUEST_BODY_BYTES = 1_048_576;

/** What a full request queue tells the client to wait. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 30;

type Decision =
  | { kind: 'answer'; response: SimResponse; delivery: Delivery; result: string; outcome?: string }
  | { kind: 'reset'; result: string }
  | { kind: 'hang'; result: string };

function answer(response: SimResponse): Decision {
  return { kind: 'answer', response, delivery: { kind: 'normal' }, result: response.result };
}

/** Reads the whole body; undefined if the client went away first. */
async function readBody(req: IncomingMessage): Promise<{ bytes: Buffer; tooLarge: boolean } | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
    }
  } catch {
    return undefined;
  }
  return { bytes: Buffer.concat(chunks), tooLarge: size > MAX_REQUEST_BODY_BYTES };
}

function parseUrl(rawUrl: string | undefined): URL | undefined {
  try {
    return new URL(`http://simulated-instance${rawUrl ?? '/'}`);
  } catch {
    return undefined;
  }
}

/** One simulated ServiceNow instance, listening on its own loopback port. */
export class SimulatedInstance implements SimInstance {
  readonly grantHandlers = defaultGrantHandlers();
  private readonly clients = new Map<string, RegistryRecord>();
  private readonly users = new Map<string, SimUser>();
  private readonly tokens = new TokenStore();
  private readonly faults = new FaultBook();
  private readonly waits = new RealTimeWaits();
  private readonly rateLimiter: HourlyRateLimiter;
  private readonly rateLimitRuleId: string;
  private readonly server: Server;
  private baseUrl = '';
  private closing: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    readonly settings: InstanceSettings,
    private readonly clock: Clock,
    private readonly record: (entry: LoggedRequest) => void,
  ) {
    this.rateLimitRuleId = createHash('md5').update(`${name}:rate-limit-rule`).digest('hex');
    this.rateLimiter = new HourlyRateLimiter(this.rateLimitRuleId);
    this.server = createServer((req, res) => {
      httpActivity.track(res);
      this.handle(req, res).catch((error: unknown) => this.failLoudly(res, error));
    });
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  static async start(
    name: string,
    settings: InstanceSettings,
    clock: Clock,
    record: (entry: LoggedRequest) => void,
  ): Promise<SimulatedInstance> {
    const instance = new SimulatedInstance(name, settings, clock, record);
    instance.server.listen(0, '127.0.0.1');
    await once(instance.server, 'listening');
    const { port } = instance.server.address() as AddressInfo;
    instance.baseUrl = `http://127.0.0.1:${port}`;
    return instance;
  }

  get url(): string {
    return this.baseUrl;
  }

  addRegistry(record: Partial<RegistryRecord> & { clientId: string; clientSecret: string }): RegistryRecord {
    if (this.clients.has(record.clientId)) {
      throw new Error(
        `Instance "${this.name}" already has registry record "${record.clientId}"; change it through registry("${record.clientId}").`,
      );
    }
    const created = newRegistryRecord(record);
    this.clients.set(created.clientId, created);
    return created;
  }

  registry(clientId: string): RegistryRecord {
    const found = this.clients.get(clientId);
    if (found === undefined) {
      throw new Error(
        `Instance "${this.name}" has no registry record "${clientId}"; add it with addRegistry().`,
      );
    }
    return found;
  }

  addUser(user: Partial<SimUser> & { username: string; password: string }): SimUser {
    if (this.users.has(user.username)) {
      throw new Error(
        `Instance "${this.name}" already has user "${user.username}"; change it through user("${user.username}").`,
      );
    }
    const created = newUser(user);
    this.users.set(created.username, created);
    return created;
  }

  user(username: string): SimUser {
    const found = this.users.get(username);
    if (found === undefined) {
      throw new Error(`Instance "${this.name}" has no user "${username}"; add it with addUser().`);
    }
    return found;
  }

  addFault(rule: FaultRule): void {
    this.faults.add(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  revoke(token: string): void {
    this.tokens.revoke(token);
  }

  accessToken(token: string): TokenRecord | undefined {
    return this.tokens.accessToken(token);
  }

  refreshToken(token: string): TokenRecord | undefined {
    return this.tokens.refreshToken(token);
  }

  isAccessTokenValid(token: string, at: number = this.clock.now()): boolean {
    const found = this.tokens.accessToken(token);
    return found !== undefined && !found.revoked && at < found.expiresAt;
  }

  issuedTokens(): string[] {
    return this.tokens.issuedTokens();
  }

  /** Stops listening and destroys every open socket, hung ones included. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.waits.cancelAll();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const body = await readBody(req);
    const url = parseUrl(req.url);
    if (body === undefined || url === undefined) {
      req.socket.destroy();
      return;
    }
    const call: IncomingCall = {
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      body: body.bytes,
      now: this.clock.now(),
    };
    const decision = body.tooLarge
      ? answer(
          errorEnvelope(
            413,
            'Request body too large',
            `Limit is ${MAX_REQUEST_BODY_BYTES} bytes`,
            'body-too-large',
          ),
        )
      : this.decide(call);

    if (decision.kind === 'answer') {
      this.record(
        logEntry(this.name, call, {
          status: decision.response.status,
          result: decision.result,
          detail: decision.response.detail,
          username: decision.response.username,
          outcome: decision.outcome,
        }),
      );
      await deliver(res, decision.response, decision.delivery, call.method === 'HEAD', this.waits);
      return;
    }
    this.record(logEntry(this.name, call, { status: decision.kind, result: decision.result }));
    // A hung request is left open on purpose; close() destroys its socket.
    if (decision.kind === 'reset') req.socket.resetAndDestroy();
  }

  /** Hibernation first, then a rate-limit window, then injected faults, then the instance itself. */
  private decide(call: IncomingCall): Decision {
    if (this.settings.hibernation !== null) {
      return answer(hibernationResponse(this.settings.hibernation, call.method));
    }
    const window = this.settings.rateLimitWindow;
    if (window !== null && call.now < window.until) {
      return answer(rateLimitWindowResponse(window, call.now, this.rateLimitRuleId));
    }
    const fault = this.faults.take(call.url.pathname);
    if (fault === undefined) return answer(this.route(call));
    const result = `fault:${fault.kind}`;
    switch (fault.kind) {
      case 'reset':
      case 'hang':
        return { kind: fault.kind, result };
      case 'status':
      case 'non-json':
      case 'huge-body':
      case 'oauth-error':
      case 'echo-secrets':
        return answer(replacementResponse(fault, call));
      case 'reencode': {
        const response = this.route(call);
        const delivered = reencoded(response, fault);
        return {
          kind: 'answer',
          response: delivered,
          delivery: { kind: 'normal' },
          result,
          outcome: response.result,
        };
      }
      case 'latency':
      case 'slow-body':
      case 'truncated-body': {
        // The instance does the work (a grant really happens), only the answer travels badly.
        const response = this.route(call);
        const delivery: Delivery =
          fault.kind === 'slow-body'
            ? { kind: 'slow-body', chunkDelayMs: fault.chunkDelayMs, chunkBytes: fault.chunkBytes ?? 16 }
            : fault;
        return { kind: 'answer', response, delivery, result, outcome: response.result };
      }
    }
  }

  private route(call: IncomingCall): SimResponse {
    if (this.settings.queueFull) {
      return errorEnvelope(429, 'Too many requests', "The instance's request queue is full", 'queue-full', {
        'Retry-After': String(QUEUE_FULL_RETRY_AFTER_SECONDS),
      });
    }
    const { pathname } = call.url;
    if (pathname === TOKEN_PATH) return answerTokenRequest(call, this.grantHandlers, this.grantContext(call));
    if (pathname === REVOKE_PATH) return answerRevocation(call, this.tokens);
    if (pathname.startsWith(REST_API_PREFIX)) {
      return answerRestApi(call, {
        instanceName: this.name,
        settings: this.settings,
        tokens: this.tokens,
        rateLimiter: this.rateLimiter,
        findUser: (username) => this.users.get(username),
      });
    }
    return errorEnvelope(404, 'Not Found', `The simulator does not serve ${pathname}`, 'not-found');
  }

  private grantContext(call: IncomingCall): GrantContext {
    return {
      now: call.now,
      settings: this.settings,
      tokens: this.tokens,
      findClient: (clientId) => this.clients.get(clientId),
      findUser: (username) => this.users.get(username),
    };
  }

  /** A bug in the simulator must show up in the test, not as a hang. */
  private failLoudly(res: ServerResponse, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({
      error: { message: `Simulator bug: ${message}`, detail: null },
      status: 'failure',
    });
    res.writeHead(500, { 'Content-Type': 'application/json;charset=UTF-8' }).end(body);
  }
}
