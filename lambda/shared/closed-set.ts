/**
 * Closed sets are `as const` lists (or tables keyed by one), with their union types derived from
 * them: one source for the compiler and for the code that checks a value at run time.
 */

/** Narrows a value to a member of a closed set. */
export function isOneOf<const T extends string>(set: readonly T[], value: string | undefined): value is T {
  return (set as readonly (string | undefined)[]).includes(value);
}

/** The keys of a table of flags that are set. */
export type FlaggedKeys<T extends Readonly<Record<string, boolean>>> = {
  [K in keyof T]: T[K] extends true ? K : never;
}[keyof T];

/** The members a table of flags marks, in the table's order. */
export function flagged<T extends Readonly<Record<string, boolean>>>(table: T): readonly FlaggedKeys<T>[] {
  return Object.keys(table).filter((key) => table[key]) as FlaggedKeys<T>[];
}

/**
 * A stored item without the closed-set fields whose value is not a member (written by a newer
 * version, or by hand): they read as absent, as if never recorded.
 */
export function withoutUnknownMembers(
  item: Readonly<Record<string, unknown>>,
  fields: Readonly<Record<string, { safeParse(value: unknown): { readonly success: boolean } }>>,
): Record<string, unknown> {
  const known = { ...item };
  for (const [field, members] of Object.entries(fields)) {
    if (field in known && !members.safeParse(known[field]).success) delete known[field];
  }
  return known;
}
