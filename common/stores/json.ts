/** A JSON value as stored: what `JSON.parse` can return. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;

/** A JSON object (schemas, JWKs). */
export type JsonObject = { readonly [key: string]: JsonValue };

/**
 * A public JWK (RFC 7517 §4). Kept structural so `common/stores` depends on no JOSE
 * library; the store never interprets it beyond requiring `kty`.
 */
export type PublicJwk = JsonObject & { readonly kty: string };
