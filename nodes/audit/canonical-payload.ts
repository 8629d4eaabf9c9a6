import { canonicalizeFast, type JsonValue } from '../../common/canonical-json.js';

/*
 * Every audit append canonicalizes its payload, and the generic `canonicalize()` (a full
 * I-JSON check, then the `canonicalize` package) was the largest single cost of an append
 * (~5 µs for a five-member exchange payload). Payloads are small plain data, so they go
 * through the one-pass `canonicalizeFast`, which hands anything unusual back to
 * `canonicalize()`; a property test keeps the two equal.
 */

/** The RFC 8785 canonical text of a JSON object payload; equal to `canonicalize(payload)`. */
export function canonicalPayload(payload: { readonly [member: string]: JsonValue }): string {
  return canonicalizeFast(payload);
}
