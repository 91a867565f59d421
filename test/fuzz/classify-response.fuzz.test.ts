import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classifyResponse, type RawResponse } from '../../lambda/shared/servicenow/classify-response';
import { describeOutcome, type FailedOutcome, isTransient } from '../../lambda/shared/servicenow/outcome';
import { FUZZ_SEED, OUTCOME_KINDS, reportCases } from './fuzz-figures';

/** A value only a token field ever holds: it must never reach a failed outcome's text. */
const MARK = 'tok-SECRET-MARK';
const tokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i),
  expires_in: z.number().int().min(0),
});
const probeSchema = z.object({ result: z.array(z.unknown()) });

const jsonText = fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null');
const tokenBody = fc
  .record(
    {
      access_token: fc.oneof(fc.constant(MARK), fc.jsonValue()),
      refresh_token: fc.oneof(fc.constant(`${MARK}-r`), fc.jsonValue()),
      token_type: fc.oneof(fc.constant('Bearer'), fc.jsonValue()),
      expires_in: fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.jsonValue()),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));
/** JSON data whose text is what ITSM records say every day. */
const wordyJson = fc
  .tuple(
    fc.constantFrom(
      'Your instance is hibernating',
      'Printer is currently offline',
      'maintenance window',
      '<html>hibernation</html>',
      'developer.servicenow.com',
    ),
    fc.jsonValue(),
  )
  .map(([text, value]) => JSON.stringify({ result: [{ short_description: text, value }] }));
const withoutBom = (text: string) => text.replace(/^\uFEFF/, '');
const html = fc
  .tuple(fc.constantFrom('<html>', '<!DOCTYPE html>', '  <body>', '<?xml version="1.0"?>'), fc.string())
  .map(([a, b]) => `${a}${b}`);
const body = fc.oneof(
  jsonText,
  tokenBody,
  html,
  // JSON inside HTML, HTML inside JSON, hibernation words in JSON.
  jsonText.map((j) => `<html><pre>${j}</pre></html>`),
  fc.string().map((s) => JSON.stringify({ error: { message: `<html>${s}</html>` }, status: 'failure' })),
  fc.constantFrom('{"result":[]}', '{"message":"Your instance is hibernating"}', '{"a":"currently offline"}'),
  wordyJson,
  fc.oneof(jsonText, tokenBody).map((j) => `\uFEFF${j}`),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.integer({ min: 70_000, max: 300_000 }).map((n) => `{"pad":"${'x'.repeat(n)}"}`),
  fc.constant(undefined),
);
const headerValue = fc.oneof(
  fc.string(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constant(undefined),
  fc.nat().map(String),
);
const headers = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'content-type',
      'location',
      'retry-after',
      'x-ratelimit-reset',
      'x-ratelimit-limit',
      'x-ratelimit-rule',
    ),
    fc.string(),
  ),
  headerValue,
  { maxKeys: 6 },
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json;charset=UTF-8',
  'text/html',
  'text/plain',
  '',
  'APPLICATION/JSON',
);
const response: fc.Arbitrary<RawResponse> = fc
  .record({
    status: fc.oneof(
      fc.integer({ min: 100, max: 599 }),
      fc.constantFrom(200, 302, 401, 403, 429, 503),
      fc.integer(),
    ),
    headers,
    contentType,
    body,
  })
  .map(({ status, headers: h, contentType: ct, body: b }) => ({
    status,
    headers: { 'content-type': ct, ...h },
    body: b,
    maxBytes: 65_536,
  }));

let cases = 0;
afterAll(() => reportCases('ServiceNow responses, classifyResponse (pure)', cases));

type Endpoint = 'token' | 'api';
const endpoints = fc.constantFrom<Endpoint>('token', 'api');

/** One generated case: the answer classified as the endpoint's client would, with its schema. */
function classifyAt(
  raw: RawResponse,
  endpoint: Endpoint,
  apiSchema: z.ZodType = probeSchema,
  secrets?: string[],
) {
  cases++;
  return classifyResponse(
    raw,
    endpoint,
    (endpoint === 'token' ? tokenSchema : apiSchema) as z.ZodType<unknown>,
    secrets,
  );
}

describe('classifyResponse on arbitrary answers', () => {
  it('always returns one known outcome, for both endpoints, and never throws', () => {
    fc.assert(
      fc.property(response, endpoints, (raw, endpoint) => {
        const outcome = classifyAt(raw, endpoint);
        expect(OUTCOME_KINDS).toContain(outcome.kind);
        if (outcome.kind !== 'ok') {
          expect(typeof describeOutcome(outcome as FailedOutcome)).toBe('string');
          expect(typeof isTransient(outcome as FailedOutcome)).toBe('boolean');
        }
      }),
      { numRuns: 4_000, seed: FUZZ_SEED },
    );
  });

  it('is ok only for a 2xx JSON answer, not labelled HTML, that matches the schema', () => {
    fc.assert(
      fc.property(response, (raw) => {
        const outcome = classifyAt(raw, 'token');
        if (outcome.kind !== 'ok') return;
        expect(raw.status).toBeGreaterThanOrEqual(200);
        expect(raw.status).toBeLessThan(300);
        expect(String(raw.headers['content-type'])).not.toMatch(/html/i);
        expect(tokenSchema.safeParse(JSON.parse(withoutBom(raw.body as string))).success).toBe(true);
      }),
      { numRuns: 4_000, seed: FUZZ_SEED + 1 },
    );
  });

  it('never calls a 2xx JSON body that parses unavailable, whatever words it holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 299 }),
        fc.constantFrom('application/json', 'application/json;charset=UTF-8', 'text/plain', undefined),
        fc.boolean(),
        fc.oneof(jsonText, tokenBody, wordyJson),
        endpoints,
        (status, ct, bom, json, endpoint) => {
          const raw: RawResponse = {
            status,
            headers: ct === undefined ? {} : { 'content-type': ct },
            body: `${bom ? '\uFEFF' : ''}${json}`,
            maxBytes: 65_536,
          };
          const outcome = classifyAt(raw, endpoint);
          expect(outcome.kind).not.toBe('unavailable');
        },
      ),
      { numRuns: 4_000, seed: FUZZ_SEED + 3 },
    );
  });

  it('never copies a token from the body into a failed outcome', () => {
    fc.assert(
      fc.property(response, endpoints, (raw, endpoint) => {
        const outcome = classifyAt(raw, endpoint);
        if (outcome.kind === 'ok') return;
        expect(describeOutcome(outcome as FailedOutcome)).not.toContain(MARK);
        expect(JSON.stringify(outcome)).not.toContain(MARK);
      }),
      { numRuns: 4_000, seed: FUZZ_SEED + 2 },
    );
  });

  it("never lets a request's secret out of an answer that quotes it, in any place or form", () => {
    fc.assert(
      fc.property(
        fc.array(secret, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(200, 400, 401, 403, 404, 429, 500, 503),
        fc.constantFrom('application/json', 'text/html', '', 'text/plain'),
        fc.constantFrom('error.message', 'error_description', 'html', 'header', 'location', 'schema-key'),
        fc.constantFrom(...ENCODINGS),
        endpoints,
        (secrets, status, ct, where, encoding, endpoint) => {
          const quoted = secrets.map(ENCODE[encoding]).join(' and ');
          const outcome = classifyAt(
            quotingAnswer(status, ct, where, quoted),
            endpoint,
            recordSchema,
            secrets,
          );
          const texts = [
            JSON.stringify(outcome),
            ...Object.values(outcome).filter((v): v is string => typeof v === 'string'),
            outcome.kind === 'ok' ? '' : describeOutcome(outcome as FailedOutcome),
          ];
          for (const value of secrets) {
            for (const text of texts) {
              expect(text).not.toContain(value);
              expect(text).not.toContain(encodeURIComponent(value));
            }
          }
        },
      ),
      { numRuns: 4_000, seed: FUZZ_SEED + 4 },
    );
  });
});

/** Secrets as requests carry them: long, token-like, sometimes with characters that need escaping. */
const secret = fc
  .tuple(
    fc.string({
      unit: fc.constantFrom(...'abcdefghijkXYZ0123456789-_.~+/='.split('')),
      minLength: 8,
      maxLength: 90,
    }),
    fc.constantFrom('', '&"<>', ' x', 'é'),
  )
  .map(([a, b]) => `${a}${b}`);
const ENCODINGS = ['raw', 'uri', 'form', 'html'] as const;
const ENCODE: Record<(typeof ENCODINGS)[number], (s: string) => string> = {
  raw: (s) => s,
  uri: encodeURIComponent,
  form: (s) => new URLSearchParams({ s }).toString().slice(2),
  html: (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
};
/** A record whose keys are free: a schema error's path could name one. */
const recordSchema = z.object({ result: z.record(z.string(), z.number()) });

function quotingAnswer(status: number, ct: string, where: string, quoted: string): RawResponse {
  const headers: Record<string, string> = { 'content-type': ct };
  let body = '{}';
  switch (where) {
    case 'error.message':
      body = JSON.stringify({
        error: { message: `Invalid refresh_token ${quoted}`, detail: quoted },
        status: 'failure',
      });
      break;
    case 'error_description':
      body = JSON.stringify({ error: 'invalid_grant', error_description: `bad token ${quoted}` });
      break;
    case 'html':
      body = `<html><body>Your instance is hibernating ${quoted}</body></html>`;
      break;
    case 'header':
      headers['x-ratelimit-rule'] = quoted;
      headers['retry-after'] = quoted;
      body = JSON.stringify({ error: { message: 'Rate limit exceeded' }, status: 'failure' });
      break;
    case 'location':
      headers.location = `https://${quoted}.example/${quoted}`;
      break;
    case 'schema-key':
      body = JSON.stringify({ result: { [quoted]: 'not a number' }, access_token: quoted });
      break;
  }
  return { status: where === 'location' ? 302 : status, headers, body, maxBytes: 65_536 };
}
