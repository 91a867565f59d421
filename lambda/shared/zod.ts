/**
 * zod for code that runs in a function or the token client: zod 4's tree-shakable `zod/mini`
 * (import it as `import * as z from './zod'`, never re-export the namespace whole, or the bundle
 * keeps every locale), with the English messages full zod sets by default, so every validation
 * error reads as before. Schemas are built with functions (`z.optional(x)`,
 * `x.check(z.minLength(1))`) and parsed with `z.safeParse(schema, value)`, which also accepts a
 * full-zod schema.
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
