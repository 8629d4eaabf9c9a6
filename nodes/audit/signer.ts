import { CompactSign, decodeProtectedHeader } from 'jose';
import type { KeyPurpose, KeyStore } from '../../common/stores/key-store.js';
import { activeKey, type FederationSigningKey, signingKey } from '../../trust-anchor/index.js';

/** `typ` of a signed audit checkpoint (docs/specs/protocol.md §6). */
export const CHECKPOINT_TYP = 'citymesh-checkpoint+jws';
/** `typ` of an exchange receipt (docs/specs/protocol.md §6). */
export const RECEIPT_TYP = 'citymesh-receipt+jws';

/**
 * Signs audit evidence. Given the exact payload bytes (RFC 8785 canonical JSON) and the
 * `typ`, returns a compact JWS whose protected header is `{ alg, kid, typ }`. An interface,
 * not a key, so that tests, a KMS or key rollover can supply their own.
 */
export interface AuditSigner {
  sign(typ: string, payload: Uint8Array): Promise<string>;
}

/** A signer over one private key (ES256 or EdDSA). */
export function keySigner(key: FederationSigningKey): AuditSigner {
  return {
    sign: (typ, payload) =>
      new CompactSign(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.privateKey),
  };
}

/**
 * A signer that uses whichever key of `purpose` is active in the store at signing time, so a
 * rollover (`next` → `active`) takes effect without restarting the node. The imported key is
 * reused while the active `kid` stays the same: re-parsing the PEM per signature costs 3–5×.
 */
export function keyStoreSigner(keys: KeyStore, purpose: KeyPurpose = 'federation'): AuditSigner {
  let cached: { kid: string; signer: AuditSigner } | undefined;
  return {
    async sign(typ, payload) {
      const page = await keys.list({ purpose, status: 'active' }, { pageSize: 1000 });
      const newest = [...page.items].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).at(-1);
      if (cached === undefined || newest === undefined || cached.kid !== newest.kid) {
        const key = await activeKey(keys, purpose);
        cached = { kid: key.stored.kid, signer: keySigner(signingKey(key)) };
      }
      return cached.signer.sign(typ, payload);
    },
  };
}

/** The `kid` a JWS names in its protected header. */
export function kidOf(jws: string): string {
  const kid = decodeProtectedHeader(jws).kid;
  if (typeof kid !== 'string' || kid === '') throw new TypeError('the signer produced a JWS without a kid');
  return kid;
}
