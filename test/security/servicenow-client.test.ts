import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../lambda/shared/clock';
import { parseInstanceUrl } from '../../lambda/shared/servicenow/instance-url';
import { createServiceNowAgent, ServiceNowClient } from '../../lambda/shared/servicenow/servicenow-client';
import { FUZZ_SEED, reportCases } from '../fuzz/fuzz-figures';

const BEARER = 'bearer-token-that-must-stay-home';
const agent = createServiceNowAgent({
  connectTimeoutMs: 1_000,
  headersTimeoutMs: 1_000,
  bodyTimeoutMs: 1_000,
});
let instance: { server: Server; url: string; answer: (res: import('node:http').ServerResponse) => void };
let elsewhere: { server: Server; url: string; seen: IncomingHttpHeaders[] };
let cases = 0;

async function listen(handler: Parameters<typeof createServer>[1]) {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  const seen: IncomingHttpHeaders[] = [];
  elsewhere = {
    ...(await listen((req, res) => {
      seen.push(req.headers);
      res.end('{"result":[]}');
    })),
    seen,
  };
  const started = await listen((_req, res) => instance.answer(res));
  instance = { ...started, answer: (res) => res.end() };
});
afterEach(() => {
  elsewhere.seen.length = 0;
});
afterAll(async () => {
  reportCases('instance URLs and probe paths (host and scheme checks)', cases);
  instance.server.close();
  elsewhere.server.close();
  await agent.close();
});

const client = () => new ServiceNowClient(instance.url, { dispatcher: agent, clock: systemClock });

describe('redirects', () => {
  it.each([301, 302, 303, 307, 308])('never carry the bearer token to another host (%i)', async (status) => {
    instance.answer = (res) =>
      res.writeHead(status, { location: `${elsewhere.url}/api/now/table/sys_user` }).end();

    const outcome = await client().probe(BEARER);

    expect(outcome).toMatchObject({ kind: 'unavailable', reason: 'redirect' });
    expect(elsewhere.seen).toEqual([]);
    expect(JSON.stringify(outcome)).not.toContain(BEARER);
  });
});

describe('response size', () => {
  it('refuses an answer over 64 KiB without reading it whole', async () => {
    instance.answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"result":["${'x'.repeat(2 * 1024 * 1024)}"]}`);
    };

    const outcome = await client().probe(BEARER);

    expect(outcome).toMatchObject({ kind: 'malformed', detail: 'response larger than 65536 bytes' });
  });
});

describe('where tokens may be sent', () => {
  it.each([
    'http://acme.service-now.com',
    'ftp://acme.service-now.com',
    'https://user:pw@acme.service-now.com',
    'https://acme.service-now.com/api',
    'https://acme.service-now.com?x=1',
    'javascript:alert(1)',
    'acme.service-now.com',
  ])('refuses the instance URL %s', (url) => {
    expect(() => new ServiceNowClient(url, { dispatcher: agent, clock: systemClock })).toThrow(Error);
  });

  it('accepts any URL only as an https origin (or http on loopback), without path or credentials', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string()),
        (raw) => {
          cases++;
          let url: URL;
          try {
            url = parseInstanceUrl(raw);
          } catch (error) {
            expect(error).toBeInstanceOf(Error);
            return;
          }
          expect(
            url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname),
          ).toBe(true);
          expect(url.username + url.password + url.search + url.hash).toBe('');
          expect(url.pathname).toBe('/');
        },
      ),
      { numRuns: 3_000, seed: FUZZ_SEED },
    );
  });

  it('never sends the bearer token off the instance, whatever the probe path', async () => {
    instance.answer = (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":[]}');
    const hostPart = new URL(elsewhere.url).host;
    const path = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        `//${hostPart}/api`,
        `${elsewhere.url}/api`,
        `/\\${hostPart}/api`,
        `http:${hostPart}`,
        '/api/now/table/x',
      ),
      fc.webPath(),
    );
    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        cases++;
        await client()
          .probe(BEARER, p)
          .catch(() => undefined);
        expect(elsewhere.seen).toEqual([]);
      }),
      { numRuns: 300, seed: FUZZ_SEED + 1 },
    );
  }, 60_000);
});
