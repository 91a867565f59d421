import * as z from '../zod';

/**
 * The access-token secret: what sync jobs read. Its layout is a public contract (documented in the
 * README for Python and shell readers); change it only with a new schemaVersion.
 */
export const accessTokenSecretSchema = z.object({
  schemaVersion: z.literal(1),
  instanceUrl: z.url(),
  accessToken: z.string().check(z.minLength(1)),
  tokenType: z.literal('Bearer'),
  /** Never later than ServiceNow's own expiry (ISO 8601). */
  expiresAt: z.iso.datetime({ offset: true }),
  refreshedAt: z.iso.datetime({ offset: true }),
});

export type AccessTokenSecret = z.output<typeof accessTokenSecretSchema>;
