import { isMeshError } from '../../common/errors/mesh-error.js';
import type { TopicValidator, Verdict } from '../../common/gossip/index.js';
import { MAX_CLUSTER_METADATA_BYTES } from '../../trust-anchor/index.js';

/** Largest metadata document taken from gossip: what a node verifies at all. */
export const MAX_METADATA_BYTES = MAX_CLUSTER_METADATA_BYTES;

/**
 * Verifies a metadata document exactly as a pull would and, when newer, makes it the
 * node's current one (`TrustState.admit`: writing it to disk may still be under way).
 */
export type AcceptMetadata = (jwt: string) => Promise<{ version: number; changed: boolean }>;

/**
 * Failures that say the document is stale, not false: an older version, or one whose
 * `exp` has passed. Peers relay such documents in good faith while metadata spreads, so
 * they are dropped without penalty; anything else (signature, issuer, cluster, shape) is
 * invalid and rejected.
 */
const STALE = new Set(['METADATA_ROLLBACK', 'METADATA_EXPIRED']);

/** The verdict on one metadata document received by gossip, applying it when it is newer. */
export async function metadataVerdict(accept: AcceptMetadata, data: Uint8Array): Promise<Verdict> {
  if (data.byteLength > MAX_METADATA_BYTES) {
    return { result: 'reject', reason: `metadata document of ${data.byteLength} bytes exceeds ${MAX_METADATA_BYTES}` };
  }
  let jwt: string;
  try {
    jwt = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return { result: 'reject', reason: 'metadata document is not UTF-8' };
  }
  try {
    const { version, changed } = await accept(jwt);
    return changed ? { result: 'accept' } : { result: 'ignore', reason: `version ${version} is already held` };
  } catch (err) {
    if (isMeshError(err)) {
      const reason = `${err.code}: ${err.message}`;
      return STALE.has(err.code) ? { result: 'ignore', reason } : { result: 'reject', reason };
    }
    // Not about the document (the disk, say): the sender is not to blame.
    throw err;
  }
}

/**
 * The validator of the metadata and revocations topics. `onAccepted` runs for a newer
 * version kept, once it has been relayed: the node already holds it (every check uses it
 * from the moment `accept` returns), so what it does for the rest (following the peers it
 * admits) would only hold the relay up.
 */
export function metadataValidator(accept: AcceptMetadata, onAccepted: (version: number) => void): TopicValidator {
  return async (data) => {
    let kept: number | undefined;
    const verdict = await metadataVerdict(async (jwt) => {
      const r = await accept(jwt);
      if (r.changed) kept = r.version;
      return r;
    }, data);
    if (kept === undefined || verdict.result !== 'accept') return verdict;
    const version = kept;
    return { result: 'accept', afterRelay: () => onAccepted(version) };
  };
}
