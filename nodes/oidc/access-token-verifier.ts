import { type KeyObject, verify as verifySignature } from 'node:crypto';
import { type Clock, systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  type ClusterMetadataClaims,
  fail,
  findRevocation,
  type JwkSet,
  type Revocation,
} from '../../trust-anchor/index.js';
import type { ReplayCache } from '../exchange/replay-cache.js';
import { type AccessTokenClaims, accessTokenClaims } from './access-token-claims.js';
import { checkAccessTokenHeader } from './access-token-header.js';
import { type ImportedKeys, importKeySet, keySetFingerprint } from './access-token-keys.js';
import { type CompactParts, decodeJsonObject, splitCompact } from './compact-jws.js';
import { isPeerTokenPayload, type PeerAccessTokenClaims, peerAccessTokenClaims } from './peer-token-claims.js';
import { checkTimes, tokenExpired, tokenTooLarge } from './token-rules.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** Largest access token accepted; checked before anything is decoded. Real ones are ~1 KiB. */
export const MAX_ACCESS_TOKEN_BYTES = 8 * 1024;
/** Clock skew tolerated on `iat`, `nbf` and `exp`: small, since tokens live 300 s. */
export const DEFAULT_ACCESS_TOKEN_LEEWAY_SECONDS = 30;
/** Largest leeway an option may ask for. */
export const MAX_ACCESS_TOKEN_LEEWAY_SECONDS = 60;
/** The provider issues tokens for at most this long (identity.md §4); a longer one was not issued by it. */
export const MAX_ACCESS_TOKEN_LIFETIME_SECONDS = 600;
/** Verified tokens kept by default: a few seconds of a busy node's distinct tokens. */
export const DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES = 10_000;

export interface AccessTokenVerifierOptions {
  /** The issuing city's entity id, which its provider uses as issuer. */
  readonly issuer: string;
  /** The issuing city's name: its tokens' `city`, and what revocations name. */
  readonly city: string;
  /** The resource this node serves (its exchange resource URL): the only `aud` accepted. */
  readonly audience: string;
  /**
   * The city's OIDC public keys. Called on every verification, so it must be cheap: return
   * the same object while the keys are unchanged. Another object is compared by content,
   * and only a real change re-imports the keys and empties the cache.
   */
  readonly keys: () => JwkSet;
  /**
   * The node's current verified cluster metadata. When given, a token of a revoked city
   * (or signed by a revoked `kid`) is refused, and a new version empties the cache. It may
   * throw (`METADATA_EXPIRED`): verification then fails with that.
   */
  readonly metadata?: () => ClusterMetadataClaims;
  readonly clock?: Clock;
  /** Default {@link DEFAULT_ACCESS_TOKEN_LEEWAY_SECONDS}, at most {@link MAX_ACCESS_TOKEN_LEEWAY_SECONDS}. */
  readonly leewaySeconds?: number;
  /** Default {@link MAX_ACCESS_TOKEN_BYTES}. */
  readonly maxBytes?: number;
  /** Verified tokens kept; default {@link DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES}; 0 disables the cache. */
  readonly cacheEntries?: number;
}

/** A verified token of either profile (identity.md §4 and §8.2). */
export type VerifiedAccessToken =
  | { readonly peer: false; readonly claims: AccessTokenClaims }
  | { readonly peer: true; readonly claims: PeerAccessTokenClaims };

/** A cached verification: the token, its claims, and the `kid` that verified them (for revocation). */
type Verified = VerifiedAccessToken & { readonly token: string; readonly kid: string };

/** Header segments whose checks passed, kept per verifier: a city has a handful of keys. */
const MAX_KNOWN_HEADERS = 64;

/** What verifying depends on besides the token: one epoch of keys and metadata. */
interface Trust {
  keys: ImportedKeys;
  version: number | undefined;
  metadata: ClusterMetadataClaims | undefined;
  cityRevocation: Revocation | undefined;
  revokedKids: ReadonlySet<string>;
}

/**
 * Verifies RFC 9068 access tokens of one city's OpenID Provider for one resource, as the
 * gRPC layer needs it: synchronously, with keys imported once as `KeyObject`s and
 * node:crypto doing the signature, and a bounded cache of verified tokens so that a client
 * reusing its token pays for the signature once. The rules, their order and their codes
 * are those of identity.md, "Access tokens at the gRPC layer".
 */
export class AccessTokenVerifier {
  readonly #issuer: string;
  readonly #city: string;
  readonly #audience: string;
  readonly #keySupplier: () => JwkSet;
  readonly #metadataSupplier: (() => ClusterMetadataClaims) | undefined;
  readonly #clock: Clock;
  readonly #leeway: number;
  readonly #maxBytes: number;
  readonly #cache: VerifiedTokenCache<Verified>;
  readonly #headers = new Map<string, string>();
  #trust: Trust | undefined;

  constructor(options: AccessTokenVerifierOptions) {
    for (const name of ['issuer', 'city', 'audience'] as const) {
      if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`${name} must be a string`);
    }
    const leeway = options.leewaySeconds ?? DEFAULT_ACCESS_TOKEN_LEEWAY_SECONDS;
    if (!Number.isFinite(leeway) || leeway < 0 || leeway > MAX_ACCESS_TOKEN_LEEWAY_SECONDS) {
      throw new TypeError(`leewaySeconds must be between 0 and ${MAX_ACCESS_TOKEN_LEEWAY_SECONDS}`);
    }
    const maxBytes = options.maxBytes ?? MAX_ACCESS_TOKEN_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TypeError('maxBytes must be a positive integer');
    this.#issuer = options.issuer;
    this.#city = options.city;
    this.#audience = options.audience;
    this.#keySupplier = options.keys;
    this.#metadataSupplier = options.metadata;
    this.#clock = options.clock ?? systemClock;
    this.#leeway = leeway;
    this.#maxBytes = maxBytes;
    this.#cache = new VerifiedTokenCache(options.cacheEntries ?? DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES);
  }

  /** Tokens currently cached. */
  get cachedTokens(): number {
    return this.#cache.size;
  }

  /** Forgets every verified token (the keys stay imported). */
  clearCache(): void {
    this.#cache.clear();
  }

  /**
   * Verifies `token` (a compact JWS, without `Bearer `) and returns its claims. A token
   * verified before under the same keys and metadata version is answered from the cache,
   * after checking that it has not expired and that its city and key are not revoked.
   *
   * @throws MeshError with the code of the first rule that fails (identity.md, "Access tokens at the gRPC layer")
   */
  verify(token: unknown): AccessTokenClaims {
    const verified = this.verifyAny(token);
    if (verified.peer) {
      // A peer token is good for its one exchange at this node, never as a city token:
      // it must not be exchanged onward nor stand for a local app.
      throw fail(
        'TOKEN_TYPE_MISMATCH',
        'peer-token',
        `this is a peer access token for an app of ${verified.claims.city}, not a token of ${this.#city}`,
        { claim: 'exchange' },
      );
    }
    return verified.claims;
  }

  /**
   * {@link verify}, accepting peer access tokens too (identity.md §8.2): tokens this city's
   * provider issued through the JWT-bearer grant to an app of another, unrevoked member city.
   */
  verifyAny(token: unknown): VerifiedAccessToken {
    if (typeof token !== 'string') throw fail('TOKEN_MALFORMED', 'type', 'a token must be a string');
    if (token.length > this.#maxBytes) throw tokenTooLarge(token.length, this.#maxBytes);
    const trust = this.#currentTrust();
    const now = this.#clock.nowMs() / 1000;
    // Keyed by the signature segment, compared on the whole token: a token string arrives
    // fresh with every call, and hashing its 86 signature characters costs a fraction of
    // hashing all of it. Another token reusing a cached signature is simply not a hit.
    const signature = token.slice(token.lastIndexOf('.') + 1);
    const hit = this.#cache.get(signature);
    if (hit !== undefined && hit.token === token) {
      if (now - this.#leeway >= hit.claims.exp) {
        this.#cache.delete(signature);
        throw tokenExpired(hit.claims.exp, now, this.#leeway);
      }
      this.#assertNotRevoked(trust, hit.kid);
      return hit;
    }
    const verified = this.#verifyUncached(token, trust, now);
    this.#cache.set(signature, verified, verified.claims.exp + this.#leeway, now);
    return verified;
  }

  /**
   * {@link verify}, then records (`iss`, `jti`) in `replay`: for a caller that accepts each
   * token once. The entry is kept until the token would be refused as expired anyway.
   *
   * @throws MeshError `TOKEN_REPLAYED` (rule `jti`) on a second use, or what `verify` or `replay` throw
   */
  async verifyFirstUse(token: unknown, replay: ReplayCache): Promise<AccessTokenClaims> {
    const claims = this.verify(token);
    const now = this.#clock.nowMs() / 1000;
    if (!(await replay.firstUse(`${claims.iss} ${claims.jti}`, claims.exp + this.#leeway, now))) {
      throw fail('TOKEN_REPLAYED', 'jti', `access token ${claims.jti} was already used`, { claim: 'jti' });
    }
    return claims;
  }

  #verifyUncached(token: string, trust: Trust, now: number): Verified {
    const bytes = Buffer.byteLength(token, 'utf8');
    if (bytes > this.#maxBytes) throw tokenTooLarge(bytes, this.#maxBytes);
    const parts = splitCompact(token);
    if (typeof parts === 'string') throw fail('TOKEN_MALFORMED', 'compact-shape', parts);
    const kid = this.#kidOf(parts.header);
    const key = this.#keyFor(trust, kid, parts);
    if (!signatureVerifies(key, parts)) {
      throw fail('TOKEN_SIGNATURE_INVALID', 'signature', `the signature does not verify with key "${kid}"`, { kid });
    }
    const payload = decodeJsonObject(parts.payload);
    if (payload === undefined) throw fail('TOKEN_MALFORMED', 'payload-json', 'the payload is not a JSON object');
    this.#checkTimes(payload, now);
    if (payload.iss !== this.#issuer) {
      throw fail(
        'TOKEN_ISSUER_MISMATCH',
        'iss',
        `the token was issued by ${String(payload.iss)}, not ${this.#issuer}`,
        {
          claim: 'iss',
        },
      );
    }
    this.#assertNotRevoked(trust, kid);
    if (typeof payload.aud !== 'string') {
      throw fail('TOKEN_AUDIENCE_MISMATCH', 'single-audience', 'an access token names exactly one audience', {
        claim: 'aud',
      });
    }
    if (payload.aud !== this.#audience) {
      throw fail('TOKEN_AUDIENCE_MISMATCH', 'aud', `the token is for ${payload.aud}, not ${this.#audience}`, {
        claim: 'aud',
        audience: this.#audience,
      });
    }
    if (isPeerTokenPayload(payload)) {
      const claims = peerAccessTokenClaims(payload);
      this.#assertPeerCity(trust, claims.city);
      return { token, claims, kid, peer: true };
    }
    const claims = accessTokenClaims(payload);
    if (claims.city !== this.#city) {
      throw fail('TOKEN_ISSUER_MISMATCH', 'city', `a token of ${this.#issuer} cannot speak for ${claims.city}`, {
        claim: 'city',
      });
    }
    return { token, claims, kid, peer: false };
  }

  /** A peer token's subject city: another current member, not revoked. */
  #assertPeerCity(trust: Trust, city: string): void {
    const metadata = trust.metadata;
    if (metadata === undefined) {
      throw fail('TOKEN_ISSUER_MISMATCH', 'peer-city', 'peer tokens are only accepted with the cluster metadata', {
        claim: 'city',
      });
    }
    if (city === this.#city || !metadata.members.some((m) => m.city === city)) {
      throw fail('TOKEN_ISSUER_MISMATCH', 'peer-city', `a peer token must name another member city, not ${city}`, {
        claim: 'city',
      });
    }
    const revoked = findRevocation(metadata, 'city', city);
    if (revoked !== undefined) {
      throw fail('CITY_REVOKED', 'city-revoked', `city ${city} is revoked: ${revoked.reason}`, {
        city,
        version: revoked.version,
      });
    }
  }

  /**
   * The header rules (§6.1 rules 3–8) for a header segment, remembered for the few segments
   * that pass: every token of one key carries the same header, and the rules depend on
   * nothing else. Failures are not remembered; the map is emptied when it fills up.
   */
  #kidOf(segment: string): string {
    const known = this.#headers.get(segment);
    if (known !== undefined) return known;
    const header = decodeJsonObject(segment);
    if (header === undefined) throw fail('TOKEN_MALFORMED', 'header-json', 'the protected header is not a JSON object');
    const kid = checkAccessTokenHeader(header);
    if (this.#headers.size >= MAX_KNOWN_HEADERS) this.#headers.clear();
    this.#headers.set(segment, kid);
    return kid;
  }

  /** The key `kid` names (§6.1 rules 9–10). */
  #keyFor(trust: Trust, kid: string, parts: CompactParts): KeyObject {
    const entry = trust.keys.byKid.get(kid);
    if (entry === undefined) {
      // Not a key of this city. When the (unverified) payload names another issuer, say so:
      // a token of another city is refused for what it is. Either way it is refused here.
      const iss = decodeJsonObject(parts.payload)?.iss;
      if (typeof iss === 'string' && iss !== this.#issuer) {
        throw fail(
          'TOKEN_ISSUER_MISMATCH',
          'foreign-issuer',
          `the token claims to come from ${iss}, and its key "${kid}" is not one of ${this.#issuer}'s`,
          { kid, iss, verified: false },
        );
      }
      throw fail('TOKEN_KEY_UNKNOWN', 'kid-unknown', `no key of ${this.#issuer} has kid "${kid}"`, { kid });
    }
    if (entry instanceof MeshError) {
      throw new MeshError(entry.code, entry.message, { details: entry.details, cause: entry.cause });
    }
    return entry;
  }

  /** federation.md §6.1 rules 13–15 with this verifier's leeway, and the provider's lifetime cap. */
  #checkTimes(payload: Record<string, unknown>, now: number): void {
    const { iat, exp } = checkTimes(payload, now, this.#leeway);
    if (exp - iat > MAX_ACCESS_TOKEN_LIFETIME_SECONDS) {
      throw fail(
        'TOKEN_LIFETIME_EXCEEDED',
        'access-token-lifetime',
        `the token lives ${exp - iat} s; the provider issues at most ${MAX_ACCESS_TOKEN_LIFETIME_SECONDS} s`,
        { claim: 'exp', lifetime: exp - iat },
      );
    }
  }

  #assertNotRevoked(trust: Trust, kid: string): void {
    const city = trust.cityRevocation;
    if (city !== undefined) {
      throw fail('CITY_REVOKED', 'city-revoked', `city ${this.#city} is revoked: ${city.reason}`, {
        city: this.#city,
        version: city.version,
      });
    }
    if (trust.revokedKids.has(kid)) {
      throw fail('KEY_REVOKED', 'key-revoked', `key ${kid} is revoked`, { kid });
    }
  }

  /**
   * The keys and metadata now, emptying the cache when either changed: a cached token must
   * never outlive the key that verified it or a revocation published since.
   */
  #currentTrust(): Trust {
    const set = this.#keySupplier();
    const metadata = this.#metadataSupplier?.();
    let trust = this.#trust;
    if (trust === undefined || set !== trust.keys.source) {
      if (trust !== undefined && keySetFingerprint(set) === trust.keys.fingerprint) {
        trust.keys = { ...trust.keys, source: set };
      } else {
        trust = {
          keys: importKeySet(set),
          version: undefined,
          metadata: undefined,
          cityRevocation: undefined,
          revokedKids: new Set(),
        };
        this.#trust = trust;
        this.#cache.clear();
        if (metadata !== undefined) this.#applyMetadata(trust, metadata);
        return trust;
      }
    }
    if (metadata !== undefined && metadata.version !== trust.version) {
      this.#applyMetadata(trust, metadata);
      this.#cache.clear();
    }
    return trust;
  }

  #applyMetadata(trust: Trust, metadata: ClusterMetadataClaims): void {
    trust.version = metadata.version;
    trust.metadata = metadata;
    trust.cityRevocation = findRevocation(metadata, 'city', this.#city);
    trust.revokedKids = new Set(metadata.revocations.filter((r) => r.kind === 'key').map((r) => r.id));
  }
}

/** ES256 over the signing input with node:crypto: r‖s as JWS carries it (RFC 7518 §3.4), 64 bytes. */
function signatureVerifies(key: KeyObject, parts: CompactParts): boolean {
  const signature = Buffer.from(parts.signature, 'base64url');
  if (signature.length !== 64) return false;
  try {
    return verifySignature('sha256', parts.signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
