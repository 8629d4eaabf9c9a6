import { canonicalizeFast } from '../../common/canonical-json.js';
import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import { FEDERATION_ALGORITHMS, type JwkSet, verifyJws } from '../../trust-anchor/index.js';
import type { AuditSigner } from './signer.js';

/** Signs `payload` as its RFC 8785 canonical bytes, so a verifier can compare field by field. */
export function signCanonical(signer: AuditSigner, typ: string, payload: Record<string, string>): Promise<string> {
  return signer.sign(typ, Buffer.from(canonicalizeFast(payload), 'utf8'));
}

/** What {@link verifyCanonical} needs: the `typ`, the trusted keys, and how to name a failure. */
export interface VerifyCanonicalOptions {
  readonly typ: string;
  readonly keys: JwkSet;
  readonly now: Date;
  /** The code every failure carries (`RECEIPT_INVALID`, `AUDIT_CHECKPOINT_INVALID`). */
  readonly code: ErrorCode;
  /** Prefix of failure messages, e.g. `receipt of corr-1`. */
  readonly what: string;
}

/**
 * Verifies a compact JWS with the project's strict verifier (pinned ES256/EdDSA allowlist,
 * exact `typ`, no key-supplying headers, `kid` among the trusted keys) and checks that the
 * signed bytes are the canonical JSON of their own content, so that what was signed is
 * exactly what is compared. Returns the header's `kid` and the payload.
 *
 * @throws MeshError `options.code`, with `details.rule` naming the failed check and the
 *   token verifier's error as `cause`
 */
export async function verifyCanonical(
  token: unknown,
  options: VerifyCanonicalOptions,
): Promise<{ kid: string; payload: Record<string, unknown> }> {
  let verified: Awaited<ReturnType<typeof verifyJws>>;
  try {
    verified = await verifyJws(token, {
      expectedTyp: options.typ,
      keys: options.keys,
      now: options.now,
      algorithms: FEDERATION_ALGORITHMS,
      requireExp: false,
    });
  } catch (err) {
    if (!isMeshError(err)) throw err;
    throw new MeshError(options.code, `${options.what}: ${err.message}`, {
      details: { ...err.details, tokenReason: err.code },
      cause: err,
    });
  }
  const signed = Buffer.from((token as string).split('.')[1] ?? '', 'base64url').toString('utf8');
  let canonical: string | undefined;
  try {
    canonical = canonicalizeFast(verified.payload);
  } catch {
    canonical = undefined;
  }
  if (canonical !== signed) {
    throw new MeshError(options.code, `${options.what}: the signed payload is not RFC 8785 canonical JSON`, {
      details: { rule: 'payload-canonical' },
    });
  }
  return { kid: verified.header.kid, payload: verified.payload };
}

/** Fails with `code` unless `payload` has exactly the string members `names`. */
export function requireStringMembers(
  payload: Record<string, unknown>,
  names: readonly string[],
  code: ErrorCode,
  what: string,
): Record<string, string> {
  const extra = Object.keys(payload).filter((name) => !names.includes(name));
  if (extra.length > 0) {
    throw new MeshError(code, `${what}: unexpected member "${extra[0]}"`, {
      details: { rule: 'payload-members', member: extra[0] ?? null },
    });
  }
  for (const name of names) {
    if (typeof payload[name] !== 'string' || payload[name] === '') {
      throw new MeshError(code, `${what}: member "${name}" must be a non-empty string`, {
        details: { rule: 'payload-members', member: name },
      });
    }
  }
  return payload as Record<string, string>;
}
