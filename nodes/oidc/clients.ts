import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { PublicJwk } from '../../common/stores/index.js';
import { type AttributesInput, parseAttributes } from './attributes.js';
import { TOKEN_EXCHANGE_GRANT } from './delegation.js';
import type { ClientRecord, OidcStore } from './oidc-store.js';

const CLIENT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const MAX_KEYS = 4;

/** What `citymesh clients add` registers. */
export interface ClientRegistration {
  /** Default: a random `app-<20 hex>`. Registering an existing id replaces its keys and attributes. */
  readonly clientId?: string;
  /** The app's public signing keys: P-256 (ES256) or Ed25519 (EdDSA), one kind per client. */
  readonly jwks: { readonly keys: readonly unknown[] };
  readonly attributes: AttributesInput;
  /** Present only for apps that log people in (authorization code + PKCE). */
  readonly redirectUris?: readonly string[];
  /**
   * The app may ask for exchange grants to call other cities' nodes directly (RFC 8693
   * token exchange, identity.md §8.1). Off unless asked for: most apps reach other cities
   * through their home node, which needs no grant of their own.
   */
  readonly crossCity?: boolean;
}

function refuse(message: string, field: string): never {
  throw new MeshError('MALFORMED_REQUEST', message, { details: { field } });
}

/** One checked public JWK and the algorithm it pins. */
async function checkKey(raw: unknown, i: number): Promise<{ jwk: PublicJwk; alg: 'ES256' | 'EdDSA' }> {
  const field = `jwks.keys[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) refuse(`${field} is not a JWK`, field);
  const jwk = raw as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => m in jwk))
    refuse(`${field} holds private key material: send public keys only`, field);
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') refuse(`${field} must be a signing key (use "sig")`, field);
  let alg: 'ES256' | 'EdDSA';
  let pub: JWK;
  if (jwk['kty'] === 'EC' && jwk['crv'] === 'P-256') {
    alg = 'ES256';
    pub = { kty: 'EC', crv: 'P-256', x: jwk['x'] as string, y: jwk['y'] as string };
  } else if (jwk['kty'] === 'OKP' && jwk['crv'] === 'Ed25519') {
    alg = 'EdDSA';
    pub = { kty: 'OKP', crv: 'Ed25519', x: jwk['x'] as string };
  } else {
    refuse(`${field} must be an EC P-256 or OKP Ed25519 key`, field);
  }
  if (jwk['alg'] !== undefined && jwk['alg'] !== alg && !(alg === 'EdDSA' && jwk['alg'] === 'Ed25519')) {
    refuse(`${field} has alg ${String(jwk['alg'])}; only ${alg} fits this key`, field);
  }
  try {
    // Parses the point: refuses keys off the curve or of the wrong length.
    await importJWK(pub, alg === 'ES256' ? 'ES256' : 'Ed25519');
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', `${field} is not a valid public key`, { details: { field }, cause });
  }
  const kid = typeof jwk['kid'] === 'string' && jwk['kid'] !== '' ? jwk['kid'] : await calculateJwkThumbprint(pub);
  // No `alg` on Ed25519 keys: the same algorithm has two names (`EdDSA`, and `Ed25519`
  // from RFC 9864), and a JWK `alg` would make the provider refuse the other one.
  return { jwk: { ...pub, kid, ...(alg === 'ES256' ? { alg } : {}), use: 'sig' } as PublicJwk, alg };
}

function checkRedirectUri(value: string, i: number): string {
  const field = `redirectUris[${i}]`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    refuse(`${field} is not a URL`, field);
  }
  // https, or http on a loopback literal for native apps (RFC 8252 §7.3); never a fragment.
  const loopback = url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    refuse(`${field} must be https (or http on 127.0.0.1 / [::1])`, field);
  }
  if (url.hash !== '' || url.username !== '' || url.password !== '') {
    refuse(`${field} must not carry a fragment or credentials`, field);
  }
  return value;
}

/** Registers (or re-registers) an app; returns the stored record, whose `clientId` is the answer. */
export async function registerClient(store: OidcStore, input: ClientRegistration, now: Date): Promise<ClientRecord> {
  const clientId = input.clientId ?? `app-${randomBytes(10).toString('hex')}`;
  if (!CLIENT_ID.test(clientId)) refuse(`client id "${clientId}" must be 1-63 of a-z, 0-9 and -`, 'clientId');
  const raw = input.jwks?.keys;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_KEYS) {
    refuse(`jwks.keys must hold 1 to ${MAX_KEYS} public keys`, 'jwks');
  }
  const keys = await Promise.all(raw.map((k, i) => checkKey(k, i)));
  const algs = new Set(keys.map((k) => k.alg));
  // One algorithm per client: token_endpoint_auth_signing_alg pins it, so nothing else is tried.
  if (algs.size !== 1) refuse('jwks.keys must all be P-256 or all Ed25519', 'jwks');
  const kids = new Set(keys.map((k) => k.jwk['kid']));
  if (kids.size !== keys.length) refuse('jwks.keys must have distinct kid values', 'jwks');
  const existing = await store.client(clientId);
  const record: ClientRecord = {
    clientId,
    jwks: { keys: keys.map((k) => k.jwk) },
    alg: keys[0]!.alg,
    attributes: parseAttributes(input.attributes),
    redirectUris: (input.redirectUris ?? []).map(checkRedirectUri),
    ...(input.crossCity === true ? { crossCity: true } : {}),
    createdAt: existing?.createdAt ?? now.toISOString(),
  };
  await store.putClient(record);
  return record;
}

/**
 * The oidc-provider metadata of a registered app. Everything security-relevant is fixed
 * here rather than taken from defaults: auth method, its algorithm, grant types.
 */
export function providerMetadata(client: ClientRecord): Record<string, unknown> {
  const login = client.redirectUris.length > 0;
  return {
    client_id: client.clientId,
    token_endpoint_auth_method: 'private_key_jwt',
    // Pinned for P-256. Ed25519 clients may say `EdDSA` or `Ed25519` (RFC 9864), one
    // algorithm under two names; their keystore holds only Ed25519 keys, so nothing else verifies.
    ...(client.alg === 'ES256' ? { token_endpoint_auth_signing_alg: 'ES256' } : {}),
    jwks: { keys: client.jwks.keys },
    grant_types: [
      ...(login ? ['client_credentials', 'authorization_code', 'refresh_token'] : ['client_credentials']),
      ...(client.crossCity === true ? [TOKEN_EXCHANGE_GRANT] : []),
    ],
    response_types: login ? ['code'] : [],
    redirect_uris: [...client.redirectUris],
    // The provider signs with ES256 only; without this every request fails (STACK-NOTES).
    id_token_signed_response_alg: 'ES256',
  };
}
