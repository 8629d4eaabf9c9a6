/**
 * RFC 3339 in UTC with `Z`, with no fractional part when the milliseconds are 0, else
 * three digits: the protocol's Timestamp rule (docs/specs/protocol.md §6) at the
 * millisecond precision the stores keep.
 */
export function formatInstant(at: Date): string {
  const iso = at.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

/** Parses what {@link formatInstant} writes, and only that spelling; `undefined` otherwise. */
export function parseInstant(text: unknown): Date | undefined {
  if (typeof text !== 'string' || !RFC3339_UTC.test(text)) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) || formatInstant(at) !== text ? undefined : at;
}
