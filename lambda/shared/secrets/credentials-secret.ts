import { z } from 'zod';
import { describeSchemaError } from '../servicenow/classify-response';

export const DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS = 8_640_000; // 100 days, ServiceNow's default

/**
 * The credentials secret: read and written by the refresher and the operator CLI only.
 * Versioned so a later layout can be migrated rather than misread.
 */
export const credentialsSecretSchema = z.object({
  schemaVersion: z.literal(1),
  grant: z.literal('password'),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  refreshToken: z.string().min(1),
  /** When the password grant that issued this refresh token was sent (ISO 8601). Refreshes never move it. */
  refreshTokenIssuedAt: z.iso.datetime({ offset: true }),
  refreshTokenLifespanSeconds: z.number().int().positive().default(DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS),
});

export type CredentialsSecret = z.infer<typeof credentialsSecretSchema>;

export type ParsedSecret<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'invalid'; readonly problem: string };

/** Parses without ever putting a value into the problem text: only field names and what is wrong. */
export function parseSecretJson<T>(schema: z.ZodType<T>, text: string): ParsedSecret<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'invalid', problem: 'the secret is not JSON' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success
    ? { kind: 'ok', value: parsed.data }
    : { kind: 'invalid', problem: describeSchemaError(parsed.error) };
}

export function refreshTokenExpiresAt(credentials: CredentialsSecret): number {
  return Date.parse(credentials.refreshTokenIssuedAt) + credentials.refreshTokenLifespanSeconds * 1000;
}
