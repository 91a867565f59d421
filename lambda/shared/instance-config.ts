import {
  ACCESS_TOKEN_LIFESPAN_SECONDS,
  EXPIRY_WARNING_DAYS_LIMITS,
  INSTANCE_NAME_PATTERN,
  INSTANCE_NAME_RULE,
  PROBE_PATH_PATTERN,
  PROBE_PATH_RULE,
} from './deployment-contract';
import { parseInstanceUrl } from './servicenow/instance-url';
import * as z from './zod';

/** How the functions see one instance: set by the construct, validated once when a function loads. */
export const instanceConfigSchema = z.object({
  name: z.string().check(z.regex(INSTANCE_NAME_PATTERN, INSTANCE_NAME_RULE)),
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
  probePath: z.optional(z.string().check(z.regex(PROBE_PATH_PATTERN, PROBE_PATH_RULE))),
  /**
   * The access-token lifespan set on the instance's Application Registry record (seconds). No token
   * is stored as living longer, whatever expires_in says. Default: one day.
   */
  accessTokenLifespanSeconds: z.optional(
    z
      .number()
      .check(
        z.int(),
        z.minimum(ACCESS_TOKEN_LIFESPAN_SECONDS.min),
        z.maximum(ACCESS_TOKEN_LIFESPAN_SECONDS.max),
      ),
  ),
  /** Days before the refresh token's end at which to warn; default DEFAULT_EXPIRY_WARNING_DAYS. */
  expiryWarningDays: z.optional(
    z
      .array(z.number().check(z.int(), z.positive(), z.maximum(EXPIRY_WARNING_DAYS_LIMITS.maxDay)))
      .check(z.minLength(1), z.maxLength(EXPIRY_WARNING_DAYS_LIMITS.maxCount)),
  ),
});

export type InstanceConfig = z.output<typeof instanceConfigSchema>;

export const instanceListSchema = z.array(instanceConfigSchema).check(
  z.minLength(1),
  z.refine((list) => new Set(list.map((i) => i.name)).size === list.length, {
    message: 'instance names must be unique',
  }),
);
