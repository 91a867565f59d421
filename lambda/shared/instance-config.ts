import { z } from 'zod';
import { parseInstanceUrl } from './servicenow/instance-url';

/** How the functions see one instance: set by the construct, validated once when a function loads. */
export const instanceConfigSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lower-case letters, digits and dashes, e.g. "acme-prod"'),
  url: z.string().refine(
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
  credentialsSecretId: z.string().min(1),
  accessTokenSecretId: z.string().min(1),
});

export type InstanceConfig = z.infer<typeof instanceConfigSchema>;

export const instanceListSchema = z
  .array(instanceConfigSchema)
  .min(1)
  .refine((list) => new Set(list.map((i) => i.name)).size === list.length, {
    message: 'instance names must be unique',
  });
