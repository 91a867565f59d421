import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../lambda/shared/clock';
import { describeOutcome } from '../../lambda/shared/servicenow/outcome';
import { createServiceNowAgent, ServiceNowClient } from '../../lambda/shared/servicenow/servicenow-client';
import { FUZZ_SEED, OUTCOME_KINDS, reportCases } from './fuzz-figures';

/** What the raw TCP server sends back: bytes on the wire, so even broken HTTP reaches the client. */
interface WireAnswer {
  readonly statusLine: string;
  readonly headers: readonly string[];
  readonly body: Buffer;
  readonly ending: 'whole' | 'cut-mid-body' | 'cut-before-headers' | 'wrong-length';
}

let server: Server;
let url: string;
let next: WireAnswer | undefined;
const sockets = new Set<Socket>();
const agent = createServiceNowAgent({ connectTimeoutMs: 1_000, headersTimeoutMs: 500, bodyTimeoutMs: 500 });
let cases = 0;

/** Where an answer says QUOTE, it quotes the request: its form body, decoded, and its Authorization. */
function quoteRequest(answer: WireAnswer | undefined, request: string): WireAnswer | undefined {
  if (!answer) return answer;
  const [head = '', form = ''] = request.split('\r\n\r\n');
  const authorization = /^authorization: (.*)$/im.exec(head)?.[1] ?? '';
  const decoded = [...new URLSearchParams(form).values()].join(' ');
  const quote = `${form} ${decoded} ${authorization}`.replace(/[\r\n]/g, ' ');
  return {
    ...answer,
    headers: answer.headers.map((h) => h.replaceAll('QUOTE', encodeURIComponent(quote))),
    body: Buffer.from(answer.body.toString('utf8').replaceAll('QUOTE', quote)),
  };
}

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (data: Buffer) => {
      const answer = quoteRequest(next, data.toString('utf8'));
      if (!answer || answer.ending === 'cut-before-headers') {
        socket.destroy();
        return;
      }
      const length = answer.ending === 'wrong-length' ? answer.body.length + 10 : answer.body.length;
      const head = [
        answer.statusLine,
        ...answer.headers,
        `Content-Length: ${length}`,
        'Connection: close',
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      if (answer.ending === 'cut-mid-body') {
        socket.end(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
        return;
      }
      socket.end(answer.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  reportCases('ServiceNow responses, end to end through ServiceNowClient (raw TCP)', cases);
  for (const s of sockets) s.destroy();
  server.close();
  await agent.close();
});

const printable = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-/;=_ .'.split('')),
  maxLength: 40,
});
const wireAnswer: fc.Arbitrary<WireAnswer> = fc.record({
  statusLine: fc.oneof(
    fc
      .constantFrom(200, 201, 204, 301, 302, 400, 401, 403, 404, 429, 500, 502, 503)
      .map((s) => `HTTP/1.1 ${s} X`),
    fc.integer({ min: 100, max: 999 }).map((s) => `HTTP/1.1 ${s} X`),
    printable.map((s) => `HTTP/1.1 ${s}`),
  ),
  headers: fc.array(
    fc.oneof(
      fc.constantFrom(
        'Content-Type: application/json',
        'Content-Type: text/html',
        'Location: https://evil.example/steal',
        'Location: https://developer.servicenow.com/hibernating',
        'Retry-After: 30',
        'Retry-After: soon',
        'X-RateLimit-Reset: 99999999999999999999',
      ),
      fc.tuple(printable, printable).map(([k, v]) => `X-${k.replace(/[^a-z0-9-]/g, '') || 'h'}: ${v}`),
    ),
    { maxLength: 4 },
  ),
  body: fc.oneof(
    fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    fc
      .constantFrom(
        '{"access_token":"a","token_type":"Bearer","expires_in":1799,"refresh_token":"r"}',
        '{"access_token":"a","token_type":"Bearer","expires_in":"1799"}',
        '{"access_token":1,"token_type":"Bearer","expires_in":1799}',
        '<html>Your instance is hibernating</html>',
        '<html><pre>{"access_token":"a","token_type":"Bearer","expires_in":1799}</pre></html>',
        '{"error":{"message":"<html>oops</html>"},"status":"failure"}',
      )
      .map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
    fc.integer({ min: 65_000, max: 200_000 }).map((n) => Buffer.alloc(n, 'x')),
  ),
  ending: fc.constantFrom('whole', 'whole', 'whole', 'cut-mid-body', 'cut-before-headers', 'wrong-length'),
});

/** A client of the raw server, with a deadline short enough for hundreds of broken answers. */
function wireClient(): ServiceNowClient {
  return new ServiceNowClient(url, { dispatcher: agent, clock: systemClock }, { overallTimeoutMs: 2_000 });
}

/** One generated case: the server's answer to the next request. */
function answerNextWith(answer: WireAnswer): void {
  cases++;
  next = answer;
}

describe('ServiceNowClient against arbitrary bytes on the wire', () => {
  it('ends every token request in one known outcome, never an exception', async () => {
    const client = wireClient();
    await fc.assert(
      fc.asyncProperty(wireAnswer, async (answer) => {
        answerNextWith(answer);
        const outcome = await client.requestToken({
          grantType: 'refresh_token',
          clientId: 'c',
          clientSecret: 's',
          refreshToken: 'r',
        });
        expect(OUTCOME_KINDS).toContain(outcome.kind);
        if (outcome.kind === 'ok') {
          expect(answer.ending).toBe('whole');
          expect(outcome.value.accessToken.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 600, seed: FUZZ_SEED },
    );
  }, 120_000);

  it('ends every probe in one known outcome, never an exception', async () => {
    const client = wireClient();
    await fc.assert(
      fc.asyncProperty(wireAnswer, async (answer) => {
        answerNextWith(answer);
        const outcome = await client.probe('bearer-value');
        expect(OUTCOME_KINDS).toContain(outcome.kind);
      }),
      { numRuns: 400, seed: FUZZ_SEED + 1 },
    );
  }, 120_000);

  it('never carries a secret of the request out of an answer that quotes it', async () => {
    const client = wireClient();
    const tokenish = fc.string({
      unit: fc.constantFrom(...'abcdefXYZ0123456789-_.~+/='.split('')),
      minLength: 12,
      maxLength: 80,
    });
    const quoting: fc.Arbitrary<WireAnswer> = fc.record({
      statusLine: fc.constantFrom(200, 400, 401, 403, 429, 500, 503).map((s) => `HTTP/1.1 ${s} X`),
      headers: fc.subarray([
        'Content-Type: application/json',
        'X-RateLimit-Rule: QUOTE',
        'X-Echo: QUOTE',
        'Retry-After: 5',
      ]),
      body: fc
        .constantFrom(
          '{"error":{"message":"Invalid refresh_token QUOTE","detail":"QUOTE"},"status":"failure"}',
          '{"error":"invalid_grant","error_description":"QUOTE"}',
          '{"error":"invalid_request","error_description":"QUOTE"}',
          '<html><body><pre>QUOTE</pre></body></html>',
          '{"result":{"QUOTE":1}}',
        )
        .map((b) => Buffer.from(b)),
      ending: fc.constant('whole' as const),
    });
    await fc.assert(
      fc.asyncProperty(
        quoting,
        tokenish,
        tokenish,
        fc.boolean(),
        async (answer, clientSecret, refreshToken, probe) => {
          answerNextWith(answer);
          const outcome = probe
            ? await client.probe(refreshToken)
            : await client.requestToken({
                grantType: 'refresh_token',
                clientId: 'c',
                clientSecret,
                refreshToken,
              });
          const text = outcome.kind === 'ok' ? '' : `${JSON.stringify(outcome)} ${describeOutcome(outcome)}`;
          for (const secret of probe ? [refreshToken] : [clientSecret, refreshToken]) {
            expect(text).not.toContain(secret);
            expect(text).not.toContain(encodeURIComponent(secret));
          }
        },
      ),
      { numRuns: 300, seed: FUZZ_SEED + 2 },
    );
  }, 120_000);
});
