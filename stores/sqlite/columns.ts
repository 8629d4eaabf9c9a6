/*
 * Column conversions. Timestamps are INTEGER milliseconds since the epoch (exact, sortable,
 * what `Date` holds); JSON values are TEXT written canonically so equal values are equal text.
 */

export function toMs(date: Date): number {
  return date.getTime();
}

export function optionalMs(date: Date | undefined): number | null {
  return date === undefined ? null : date.getTime();
}

export function fromMs(ms: number): Date {
  return new Date(ms);
}

/** `{ [name]: Date }` when the column is set, `{}` when NULL, for spreading into a row's domain object. */
export function optionalDateField<K extends string>(name: K, ms: number | null): { [P in K]?: Date } {
  return (ms === null ? {} : { [name]: new Date(ms) }) as { [P in K]?: Date };
}

/** `{ [name]: value }` when the column is set, `{}` when NULL. */
export function optionalField<K extends string, V>(name: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [name]: value }) as { [P in K]?: V };
}
