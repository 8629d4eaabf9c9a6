/**
 * A content key (not RFC 8785; see common/canonical-json.ts for what gets signed): deterministic JSON, object keys sorted, `undefined` members dropped, dates as ISO
 * strings. Used to compare values for idempotent puts and to bind page tokens to their
 * query, so two spellings of the same value must give the same text.
 */
export function contentKey(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = normalize(member);
    }
    return out;
  }
  return value;
}

/**
 * True when both values are the same content (key order and `undefined` members
 * ignored): what makes a repeated put idempotent rather than `ALREADY_EXISTS`.
 */
export function sameContent(a: unknown, b: unknown): boolean {
  return contentKey(a) === contentKey(b);
}
