import { verify as verifySignature } from 'node:crypto';
import { type Clock, systemClock } from '../../../common/clock.js';
import type { Device } from '../../../common/stores/device-store.js';
import { fail } from '../../../trust-anchor/index.js';
import type { ReplayCache } from '../../exchange/replay-cache.js';
import { type CompactParts, decodeJsonObject, splitCompact } from '../../oidc/compact-jws.js';
import { tokenTooLarge } from '../../oidc/token-rules.js';
import {
  checkCredentialWindow,
  type DeviceLookup,
  deviceIdOf,
  deviceIdPrefix,
  requireActive,
} from './device-checks.js';
import { DEFAULT_DEVICE_KEY_CACHE_ENTRIES, type DeviceKey, DeviceKeyCache } from './device-keys.js';
import { checkDeviceTokenClaims, type DeviceTokenClaims } from './device-token-claims.js';
import { checkDeviceTokenHeader } from './device-token-header.js';

/** Largest device token accepted, checked before decoding. Real ones are ~450 bytes. */
export const MAX_DEVICE_TOKEN_BYTES = 4 * 1024;
/** Clock skew tolerated on `iat`, `nbf`, `exp` by default and at most (issue 7: ≤ 10 min): device clocks drift. */
export const MAX_DEVICE_TOKEN_LEEWAY_SECONDS = 600;
/** Longest lifetime (`exp − iat`) a device token may have (issue 7), and the default cap. */
export const MAX_DEVICE_TOKEN_LIFETIME_SECONDS = 24 * 3600;

export interface DeviceTokenVerifierOptions {
  /** This node's cluster and city: devices of another city are refused. */
  readonly cluster: string;
  readonly city: string;
  /** The city's federation entity id (`NodeIdentity.entityId`): the only `aud` accepted. */
  readonly audience: string;
  /** Reads a device on every call (the DeviceStore's `get`); never cached here. */
  readonly lookup: DeviceLookup;
  /**
   * Where first uses of (`sub`, `jti`) are recorded until the token expires. Mandatory:
   * with several nodes per city it must be shared among them (store-backed), or a token
   * can be used once per node. When full it refuses (`RATE_LIMITED`), never evicts.
   */
  readonly replay: ReplayCache;
  readonly clock?: Clock;
  /** Default and most {@link MAX_DEVICE_TOKEN_LEEWAY_SECONDS}. */
  readonly leewaySeconds?: number;
  /**
   * Default and most {@link MAX_DEVICE_TOKEN_LIFETIME_SECONDS}. A lower cap bounds the replay
   * cache: entries live at most this plus the leeway, so it holds rate × that many.
   */
  readonly maxLifetimeSeconds?: number;
  /** Default {@link MAX_DEVICE_TOKEN_BYTES}. */
  readonly maxBytes?: number;
  /** Imported credential keys kept; default {@link DEFAULT_DEVICE_KEY_CACHE_ENTRIES}. */
  readonly keyCacheEntries?: number;
}

/** A device authenticated by its token. */
export interface AuthenticatedDevice {
  /** The device as the registry holds it now: active. */
  readonly device: Device;
  readonly spiffeId: string;
  /** The credential whose key verified the token (its `kid`). */
  readonly credentialId: string;
  readonly claims: DeviceTokenClaims;
  /** When the authentication ends: the token's `exp`. */
  readonly expiresAt: Date;
}

/** What the token says before anything is looked up: its parts, header choices, payload and device. */
interface Decoded {
  readonly parts: CompactParts;
  readonly alg: DeviceKey['alg'];
  readonly kid: string;
  readonly payload: Record<string, unknown>;
  readonly sub: string;
  readonly deviceId: string;
}

/** How a `sub` that is no device SPIFFE id is refused. */
const SUB_RULE = { code: 'TOKEN_MALFORMED', rule: 'sub', what: 'sub' } as const;

/**
 * Verifies device-signed JWTs (device-identity.md §5) for one city node. Modelled on
 * `AccessTokenVerifier`: node:crypto verifies on `KeyObject`s imported once per credential,
 * every rule has its code and `details.rule`. Unlike access tokens there is no
 * verified-token cache: every token is good once (`jti`), so a second presentation is a
 * replay, and the device record (its status) is read on every call, so a suspension or
 * revocation refuses the very next token, whatever was accepted before.
 */
export class DeviceTokenVerifier {
  readonly #realm: { readonly cluster: string; readonly city: string };
  readonly #prefix: string;
  readonly #audience: string;
  readonly #lookup: DeviceLookup;
  readonly #replay: ReplayCache;
  readonly #clock: Clock;
  readonly #rules: { readonly leeway: number; readonly maxLifetime: number };
  readonly #maxBytes: number;
  readonly #keys: DeviceKeyCache;

  constructor(options: DeviceTokenVerifierOptions) {
    for (const name of ['cluster', 'city', 'audience'] as const) {
      if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`${name} must be a string`);
    }
    if (typeof options.lookup !== 'function') throw new TypeError('lookup must be a function');
    if (typeof options.replay?.firstUse !== 'function') throw new TypeError('replay must be a ReplayCache');
    const leeway = options.leewaySeconds ?? MAX_DEVICE_TOKEN_LEEWAY_SECONDS;
    if (!Number.isFinite(leeway) || leeway < 0 || leeway > MAX_DEVICE_TOKEN_LEEWAY_SECONDS) {
      throw new TypeError(`leewaySeconds must be between 0 and ${MAX_DEVICE_TOKEN_LEEWAY_SECONDS}`);
    }
    const maxLifetime = options.maxLifetimeSeconds ?? MAX_DEVICE_TOKEN_LIFETIME_SECONDS;
    if (!Number.isFinite(maxLifetime) || maxLifetime <= 0 || maxLifetime > MAX_DEVICE_TOKEN_LIFETIME_SECONDS) {
      throw new TypeError(`maxLifetimeSeconds must be between 1 and ${MAX_DEVICE_TOKEN_LIFETIME_SECONDS}`);
    }
    const maxBytes = options.maxBytes ?? MAX_DEVICE_TOKEN_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TypeError('maxBytes must be a positive integer');
    this.#realm = { cluster: options.cluster, city: options.city };
    // Also checks that cluster and city are valid names.
    this.#prefix = deviceIdPrefix(this.#realm);
    this.#audience = options.audience;
    this.#lookup = options.lookup;
    this.#replay = options.replay;
    this.#clock = options.clock ?? systemClock;
    this.#rules = { leeway, maxLifetime };
    this.#maxBytes = maxBytes;
    this.#keys = new DeviceKeyCache(options.keyCacheEntries ?? DEFAULT_DEVICE_KEY_CACHE_ENTRIES);
  }

  /** Credential keys currently imported. */
  get cachedKeys(): number {
    return this.#keys.size;
  }

  /**
   * Verifies `token` (a compact JWS, without `Bearer `) and records its `jti` as used.
   *
   * @throws MeshError with the code of the first rule that fails (device-identity.md §5.2)
   */
  async verify(token: unknown): Promise<AuthenticatedDevice> {
    // Kept to two awaits on few locals: the suspended frame is allocated on every token.
    const decoded = this.#decode(token);
    const found = this.#lookup(this.#realm.city, decoded.deviceId);
    // Awaited only when it is a promise: a memory lookup then costs no microtask turn.
    const result = this.#accept(decoded, found instanceof Promise ? await found : found);
    const { sub, jti, exp } = result.claims;
    const now = this.#clock.nowMs() / 1000;
    // Kept until the token is refused as expired anyway (ReplayCache contract).
    const first = this.#replay.firstUse(`${sub} ${jti}`, exp + this.#rules.leeway, now);
    if (!(first instanceof Promise ? await first : first)) {
      throw fail('TOKEN_REPLAYED', 'jti', `device token ${jti} was already used`, { claim: 'jti' });
    }
    return result;
  }

  /** Rules 1–12: everything decided on the token alone, up to the device it names. */
  #decode(token: unknown): Decoded {
    if (typeof token !== 'string') throw fail('TOKEN_MALFORMED', 'type', 'a token must be a string');
    // UTF-16 length bounds the work before anything is decoded; base64url is ASCII, so a
    // token that passes the shape rule has as many bytes as characters.
    if (token.length > this.#maxBytes) throw tokenTooLarge(token.length, this.#maxBytes);
    const parts = splitCompact(token);
    if (typeof parts === 'string') throw fail('TOKEN_MALFORMED', 'compact-shape', parts);
    const header = decodeJsonObject(parts.header);
    if (header === undefined) throw fail('TOKEN_MALFORMED', 'header-json', 'the protected header is not a JSON object');
    const { alg, kid } = checkDeviceTokenHeader(header);
    // The payload is read before the signature only to learn which device to look up; none
    // of its claims counts until the signature has verified.
    const payload = decodeJsonObject(parts.payload);
    if (payload === undefined) throw fail('TOKEN_MALFORMED', 'payload-json', 'the payload is not a JSON object');
    const sub = payload.sub;
    const deviceId = deviceIdOf(sub, this.#realm, this.#prefix, SUB_RULE);
    if (payload.iss !== sub) {
      throw fail(
        'TOKEN_ISSUER_MISMATCH',
        'iss-sub',
        'a device token is issued by the device itself: iss must equal sub',
        {
          claim: 'iss',
        },
      );
    }
    return { parts, alg, kid, payload, sub: sub as string, deviceId };
  }

  /** Rules 13–23: the device's status, its credential, the signature, then the claims it vouches for. */
  #accept(decoded: Decoded, found: Device | undefined): AuthenticatedDevice {
    const device = requireActive(found, this.#realm.city, decoded.deviceId);
    const nowMs = this.#clock.nowMs();
    const key = this.#credentialKey(device, decoded.kid, decoded.alg, nowMs);
    if (!signatureVerifies(key, decoded.parts)) {
      throw fail(
        'TOKEN_SIGNATURE_INVALID',
        'signature',
        `the signature does not verify with credential "${decoded.kid}"`,
        {
          kid: decoded.kid,
        },
      );
    }
    const claims = checkDeviceTokenClaims(decoded.payload, decoded.sub, this.#audience, this.#rules, nowMs / 1000);
    return Object.freeze({
      device,
      spiffeId: claims.sub,
      credentialId: decoded.kid,
      claims,
      expiresAt: new Date(claims.exp * 1000),
    });
  }

  /** Rules 15–16: the credential `kid` names, in its window, holding a key of the header's algorithm. */
  #credentialKey(device: Device, kid: string, alg: DeviceKey['alg'], nowMs: number): DeviceKey {
    const credential = device.credentials.find((c) => c.credentialId === kid);
    if (credential === undefined) {
      throw fail('TOKEN_KEY_UNKNOWN', 'kid-unknown', `device ${device.deviceId} has no credential "${kid}"`, { kid });
    }
    if (credential.kind !== 'jwk') {
      // Only the certificate's digest is registered, not its key: it authenticates over mTLS.
      throw fail('TOKEN_KEY_UNKNOWN', 'kid-not-jwk', `credential "${kid}" is a certificate; it cannot sign tokens`, {
        kid,
      });
    }
    checkCredentialWindow(credential, nowMs, 'TOKEN_KEY_UNKNOWN');
    const key = this.#keys.keyOf(device.deviceId, credential, nowMs / 1000);
    if (key.alg !== alg) {
      // RFC 8725 §3.1: the key decides the algorithm, never the token.
      throw fail('TOKEN_ALG_NOT_ALLOWED', 'alg-key-type', `credential "${kid}" verifies ${key.alg} only, not ${alg}`, {
        kid,
        alg,
        expected: key.alg,
      });
    }
    return key;
  }
}

/** ES256 as r‖s (RFC 7518 §3.4) or Ed25519 (RFC 8037 §3.1): 64 bytes either way. */
function signatureVerifies({ alg, key }: DeviceKey, parts: CompactParts): boolean {
  const signature = Buffer.from(parts.signature, 'base64url');
  if (signature.length !== 64) return false;
  try {
    return alg === 'ES256'
      ? verifySignature('sha256', parts.signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature)
      : verifySignature(null, parts.signingInput, key, signature);
  } catch {
    return false;
  }
}
