import { describeSchemaError } from '../servicenow/classify-response';
import * as z from '../zod';

export const DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS = 8_640_000; // 100 days, ServiceNow's default
export const MAX_REFRESH_TOKEN_LIFESPAN_SECONDS = 315_360_000; // 10 years

const client = {
  schemaVersion: z.literal(1),
  clientId: z.string().check(z.minLength(1)),
  clientSecret: z.string().check(z.minLength(1)),
};

/** Password grant once, then refresh tokens: a human renews every refresh-token lifespan. */
export const passwordCredentialsSchema = z.object({
  ...client,
  grant: z.literal('password'),
  refreshToken: z.string().check(z.minLength(1)),
  /** When the password grant that issued this refresh token was sent (ISO 8601). Refreshes never move it. */
  refreshTokenIssuedAt: z.iso.datetime({ offset: true }),
  // At most 10 years: a larger value is a typo, and past year 275760 dates stop existing (RangeError).
  refreshTokenLifespanSeconds: z._default(
    z.number().check(z.int(), z.positive(), z.maximum(MAX_REFRESH_TOKEN_LIFESPAN_SECONDS)),
    DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS,
  ),
});

/** client_credentials: the client id and secret are all it takes; no refresh token, no cliff. */
export const clientCredentialsSchema = z.object({ ...client, grant: z.literal('client_credentials') });

/** jwt-bearer: assertions signed with this key; no refresh token. The certificate's end is the only date. */
export const jwtCredentialsSchema = z.object({
  ...client,
  grant: z.literal('jwt_bearer'),
  /** The ServiceNow user the tokens act as (the JWT's sub). */
  username: z.string().check(z.minLength(1)),
  privateKeyPem: z.string().check(z.includes('PRIVATE KEY')),
  /** The certificate registered in ServiceNow's JWT verifier map (not secret, kept for doctor and status). */
  certificatePem: z.string().check(z.includes('BEGIN CERTIFICATE')),
  certificateExpiresAt: z.iso.datetime({ offset: true }),
  /** The key id ServiceNow's JWT verifier map knows the certificate by, sent as the JWT header's kid. */
  keyId: z.optional(z.string().check(z.minLength(1))),
});

/**
 * The credentials secret: read and written by the refresher and the operator CLI only.
 * Versioned so a later layout can be migrated rather than misread.
 */
export const credentialsSecretSchema = z.discriminatedUnion('grant', [
  passwordCredentialsSchema,
  clientCredentialsSchema,
  jwtCredentialsSchema,
]);

export type CredentialsSecret = z.output<typeof credentialsSecretSchema>;
export type PasswordCredentials = z.output<typeof passwordCredentialsSchema>;

/** The grants a credentials secret can hold, one schema each above. */
export const GRANTS = [
  'password',
  'client_credentials',
  'jwt_bearer',
] as const satisfies readonly CredentialsSecret['grant'][];
export type Grant = (typeof GRANTS)[number];

export type ParsedSecret<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'invalid'; readonly problem: string };

/** Parses without ever putting a value into the problem text: only field names and what is wrong. */
export function parseSecretJson<T>(schema: z.core.$ZodType<T>, text: string): ParsedSecret<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'invalid', problem: 'the secret is not JSON' };
  }
  const parsed = z.safeParse(schema, json);
  return parsed.success
    ? { kind: 'ok', value: parsed.data }
    : { kind: 'invalid', problem: describeSchemaError(parsed.error) };
}

/** What the credentials secret records about its refresh token, and the state table mirrors. */
export interface RefreshTokenFacts {
  readonly grant?: Grant;
  /** ISO 8601 in the credentials secret; milliseconds since the epoch in the state table. */
  readonly refreshTokenIssuedAt?: string | number;
  readonly refreshTokenLifespanSeconds?: number;
}

/**
 * When the refresh token dies (ms since the epoch): a fixed lifespan after the password grant that
 * issued it. The only place that computes it. Grants without a refresh token (client credentials,
 * JWT bearer) have no end, whatever stale fields say.
 */
export function refreshTokenExpiresAt(credentials: PasswordCredentials): number;
export function refreshTokenExpiresAt(facts: RefreshTokenFacts | undefined): number | undefined;
export function refreshTokenExpiresAt(facts: RefreshTokenFacts | undefined): number | undefined {
  if (facts?.grant !== 'password') return undefined;
  const { refreshTokenIssuedAt: issuedAt, refreshTokenLifespanSeconds: lifespanSeconds } = facts;
  if (issuedAt === undefined || lifespanSeconds === undefined) return undefined;
  return (typeof issuedAt === 'string' ? Date.parse(issuedAt) : issuedAt) + lifespanSeconds * 1000;
}
