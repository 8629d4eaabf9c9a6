import { decodeProtectedHeader } from 'jose';
import type { KeyPurpose, KeyStore } from '../../common/stores/key-store.js';
import { activeKey, type FederationSigningKey, signCompact, signingKey } from '../../trust-anchor/index.js';

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

/**
 * A signer over one private key (ES256 or EdDSA): node:crypto's one-shot sign on the key's
 * KeyObject (`signCompact`), the same compact JWS jose's `CompactSign` makes at a third of
 * its cost.
 */
export function keySigner(key: FederationSigningKey): AuditSigner {
  return {
    sign: async (typ, payload) => signCompact(key, { alg: key.alg, kid: key.kid, typ }, payload),
  };
}

/** How long the signer trusts its last look at the store: a rollover takes effect within it. */
export const ACTIVE_KEY_RECHECK_MS = 1000;

/**
 * A signer that uses whichever key of `purpose` is active in the store, so a rollover
 * (`next` → `active`) takes effect without restarting the node. The imported key is reused
 * while the active `kid` stays the same (re-parsing the PEM per signature costs 3–5×), and
 * the store is asked again at most every {@link ACTIVE_KEY_RECHECK_MS}: listing keys per
 * receipt was a visible share of a busy node's time.
 */
export function keyStoreSigner(
  keys: KeyStore,
  purpose: KeyPurpose = 'federation',
  nowMs: () => number = Date.now,
): AuditSigner {
  let cached: { kid: string; signer: AuditSigner; checkedAtMs: number } | undefined;
  return {
    async sign(typ, payload) {
      const now = nowMs();
      if (cached === undefined || now - cached.checkedAtMs >= ACTIVE_KEY_RECHECK_MS || now < cached.checkedAtMs) {
        const page = await keys.list({ purpose, status: 'active' }, { pageSize: 1000 });
        const newest = [...page.items].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).at(-1);
        if (cached === undefined || newest === undefined || cached.kid !== newest.kid) {
          const key = await activeKey(keys, purpose);
          cached = { kid: key.stored.kid, signer: keySigner(signingKey(key)), checkedAtMs: now };
        } else {
          cached.checkedAtMs = now;
        }
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
