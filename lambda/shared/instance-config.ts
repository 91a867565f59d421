import { parseInstanceUrl } from './servicenow/instance-url';
import * as z from './zod';

/** How the functions see one instance: set by the construct, validated once when a function loads. */
export const instanceConfigSchema = z.object({
  name: z
    .string()
    .check(
      z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lower-case letters, digits and dashes, e.g. "acme-prod"'),
    ),
  url: z.string().check(
    z.refine(
      (value) => {
        try {
          parseInstanceUrl(value);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'use https and the instance address only, e.g. https://acme.service-now.com' },
    ),
  ),
  credentialsSecretId: z.string().check(z.minLength(1)),
  accessTokenSecretId: z.string().check(z.minLength(1)),
  /** The probe's GET path; default the one-row sys_user query. */
  probePath: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^\/api\//,
          'use a REST API path on the instance, e.g. /api/now/table/sys_user?sysparm_limit=1',
        ),
      ),
  ),
  /**
   * The access-token lifespan set on the instance's Application Registry record (seconds). No token
   * is stored as living longer, whatever expires_in says. Default: one day.
   */
  accessTokenLifespanSeconds: z.optional(z.number().check(z.int(), z.minimum(60), z.maximum(31_536_000))),
  /** Days before the refresh token's end at which to warn; default [30, 14, 7, 3, 1]. */
  expiryWarningDays: z.optional(z.array(z.number().check(z.int(), z.positive())).check(z.minLength(1))),
});

export type InstanceConfig = z.output<typeof instanceConfigSchema>;

export const instanceListSchema = z.array(instanceConfigSchema).check(
  z.minLength(1),
  z.refine((list) => new Set(list.map((i) => i.name)).size === list.length, {
    message: 'instance names must be unique',
  }),
);
