/**
 * Deep copy of a domain value with `undefined` members dropped. The memory stores keep
 * and hand out copies so a caller mutating a returned `Date` or object cannot change
 * stored state, and so optional fields look the same as when read back from SQL.
 */
export function clone<T>(value: T): T {
  return copy(value) as T;
}

function copy(value: unknown): unknown {
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map(copy);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined) out[key] = copy(member);
    }
    return out;
  }
  return value;
}
