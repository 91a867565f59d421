import { once } from 'node:events';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpActivity } from './http-activity';

/** What the proxy can do to one AWS request instead of (or before) forwarding it. */
export type AwsFault =
  /** 400 ThrottlingException (JSON protocols) or Throttling (query protocol): the SDK's "retry later". */
  | { readonly kind: 'throttle' }
  /** 500 InternalFailure. */
  | { readonly kind: 'internal-error' }
  /** Forwards after `ms` of real time. */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Destroys the client's socket without an answer. */
  | { readonly kind: 'drop' };

export type AwsFaultKind = AwsFault['kind'];

export interface AwsCall {
  /** From x-amz-target (DynamoDB, Secrets Manager, EventBridge) or the query Action (SNS, SQS...). */
  readonly service: string;
  readonly operation: string;
}

/**
 * A node:http proxy in front of the local AWS emulator that answers some requests with the errors
 * AWS really sends under load, per `decide`. Faults happen before forwarding (latency aside), so a
 * request that failed never reached the emulator: the same as AWS refusing it. Answers lost after
 * AWS applied a request are not simulated (see docs/reliability.md).
 */
export class AwsFaultProxy {
  /** Faults injected, by kind. */
  readonly injected: Record<AwsFaultKind, number> = { throttle: 0, 'internal-error': 0, latency: 0, drop: 0 };
  forwarded = 0;
  /** Requests seen, by service and operation. */
  readonly calls: Record<string, number> = {};
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  /**
   * With `now`, every answer's Date header tells that time (a virtual clock's), as AWS's tells its
   * own: writers measure their clock skew from it.
   */
  static async start(
    target: string,
    decide: (call: AwsCall) => AwsFault | undefined,
    options: { readonly now?: () => number } = {},
  ): Promise<AwsFaultProxy> {
    const targetUrl = new URL(target);
    let proxy: AwsFaultProxy | undefined;
    const server = createServer((req, res) => {
      httpActivity.track(res);
      if (options.now) {
        const now = options.now;
        const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
        (res as unknown as { writeHead: (...args: unknown[]) => ServerResponse }).writeHead = (...args) => {
          res.setHeader('date', new Date(now()).toUTCString());
          const headers = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null) as
            | Record<string, unknown>
            | undefined;
          if (headers) {
            for (const key of Object.keys(headers)) if (key.toLowerCase() === 'date') delete headers[key];
          }
          return writeHead(...args);
        };
      }
      void proxy?.handle(req, res, targetUrl, decide);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    proxy = new AwsFaultProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    decide: (call: AwsCall) => AwsFault | undefined,
  ): Promise<void> {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const call = describeCall(req, body);
    const name = `${call.service}:${call.operation}`;
    this.calls[name] = (this.calls[name] ?? 0) + 1;
    const fault = decide(call);
    if (fault) this.injected[fault.kind]++;
    switch (fault?.kind) {
      case 'throttle':
        answerError(res, req, 400, 'ThrottlingException', 'Throttling', 'Rate exceeded');
        return;
      case 'internal-error':
        answerError(res, req, 500, 'InternalFailure', 'InternalFailure', 'We encountered an internal error');
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case 'latency':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        break;
      case undefined:
        break;
    }
    this.forwarded++;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.agent.destroy();
    await closed;
  }
}

function describeCall(req: IncomingMessage, body: Buffer): AwsCall {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    const [prefix = '', operation = ''] = target.split('.');
    return { service: serviceOfTarget(prefix), operation };
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action') ?? '';
  const host = String(req.headers.authorization ?? '').match(
    /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//,
  )?.[1];
  return { service: host ?? 'unknown', operation: action };
}

function serviceOfTarget(prefix: string): string {
  if (prefix.startsWith('DynamoDB')) return 'dynamodb';
  if (prefix === 'secretsmanager') return 'secretsmanager';
  if (prefix === 'AWSEvents') return 'events';
  return prefix.toLowerCase();
}

/** The error shapes the SDK parses: JSON (x-amz-json-1.x) or the query protocol's XML. */
function answerError(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  jsonType: string,
  queryCode: string,
  message: string,
): void {
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.includes('x-amz-json')) {
    const body = JSON.stringify({ __type: jsonType, message });
    res.writeHead(status, {
      'content-type': contentType,
      'x-amzn-errortype': jsonType,
      'x-amzn-requestid': 'chaos',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  const body = `<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${queryCode}</Code><Message>${message}</Message></Error><RequestId>chaos</RequestId></ErrorResponse>`;
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
