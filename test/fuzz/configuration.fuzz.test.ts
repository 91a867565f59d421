import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInstances } from '../../lambda/shared/environment';
import { DeploymentConfigError, parseDeploymentConfig } from '../../lib/deployment-config';
import { FUZZ_SEED, reportCases } from './fuzz-figures';

let cases = 0;
afterAll(() => reportCases('configuration (deployment config file, INSTANCES environment)', cases));

const instanceLike = fc.record(
  {
    name: fc.oneof(fc.constantFrom('acme', 'globex-dev', 'Acme', '-x', ''), fc.string({ maxLength: 70 })),
    url: fc.oneof(
      fc.constantFrom(
        'https://acme.service-now.com',
        'http://acme.service-now.com',
        'https://evil.example',
        'https://acme.service-now.com/x',
        'http://127.0.0.1:8080',
      ),
      fc.webUrl(),
      fc.string(),
    ),
    grant: fc.oneof(
      fc.constantFrom('password', 'client_credentials', 'jwt_bearer', 'implicit'),
      fc.jsonValue(),
    ),
    refreshTokenLifespanDays: fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double(), fc.jsonValue()),
    accessTokenLifespanSeconds: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.jsonValue()),
    probePath: fc.oneof(fc.constantFrom('/api/now/table/x', '//evil.example/api', 'api'), fc.string()),
    expiryWarningDays: fc.oneof(
      fc.array(fc.integer({ min: -1, max: 40 }), { maxLength: 12 }),
      fc.jsonValue(),
    ),
    credentialsSecretId: fc.string(),
    accessTokenSecretId: fc.string(),
  },
  { requiredKeys: [] },
);
const config = fc.record(
  {
    stackName: fc.oneof(fc.constant('ServiceNowTokenRefresher'), fc.string()),
    account: fc.oneof(fc.constant('123456789012'), fc.string()),
    region: fc.oneof(fc.constant('eu-west-1'), fc.string()),
    instances: fc.oneof(fc.array(instanceLike, { maxLength: 3 }), fc.jsonValue()),
    allowedHosts: fc.oneof(fc.array(fc.domain(), { maxLength: 2 }), fc.jsonValue()),
    alerts: fc.oneof(
      fc.record(
        {
          emails: fc.array(fc.emailAddress(), { maxLength: 2 }),
          deadManHours: fc.integer({ min: -1, max: 30 }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    ),
    schedules: fc.oneof(
      fc.record({ refreshMinutes: fc.integer({ min: -1, max: 20 }) }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    operatorPrincipalArns: fc.oneof(fc.array(fc.string(), { maxLength: 2 }), fc.jsonValue()),
    tags: fc.oneof(fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }), fc.jsonValue()),
    unknownField: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('the deployment configuration', () => {
  it('either parses into instances on https ServiceNow hosts, or fails naming a field', () => {
    fc.assert(
      fc.property(fc.oneof(config, fc.jsonValue()), (json) => {
        cases++;
        let parsed: ReturnType<typeof parseDeploymentConfig>;
        try {
          parsed = parseDeploymentConfig(json, 'fuzz.json');
        } catch (error) {
          expect(error).toBeInstanceOf(DeploymentConfigError);
          // Every problem line names a field (or the top level) and says what to do.
          const lines = (error as Error).message.split('\n').slice(1);
          expect(lines.length).toBeGreaterThan(0);
          for (const line of lines) expect(line).toMatch(/^\s+- (\(top level\)|[A-Za-z]\w*).*: \S/);
          return;
        }
        for (const instance of parsed.instances) {
          const url = new URL(instance.url);
          expect(url.protocol).toBe('https:');
          expect(
            url.hostname.endsWith('.service-now.com') || parsed.allowedHosts.includes(url.hostname),
          ).toBe(true);
        }
      }),
      { numRuns: 3_000, seed: FUZZ_SEED },
    );
  });
});

describe('the INSTANCES environment variable', () => {
  it('either yields valid instances or fails with a message naming the variable', () => {
    const text = fc.oneof(
      fc.array(instanceLike, { maxLength: 3 }).map((list) => JSON.stringify(list)),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.string(),
    );
    fc.assert(
      fc.property(text, (INSTANCES) => {
        cases++;
        try {
          const instances = loadInstances({ INSTANCES }, 'The refresher function');
          expect(instances.length).toBeGreaterThan(0);
          for (const i of instances) expect(i.name).toMatch(/^[a-z0-9][a-z0-9-]*$/);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).message).toMatch(/^The refresher function is misconfigured: INSTANCES: /);
        }
      }),
      { numRuns: 3_000, seed: FUZZ_SEED + 1 },
    );
  });
});
