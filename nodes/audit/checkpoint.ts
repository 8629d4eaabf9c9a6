import { MeshError } from '../../common/errors/mesh-error.js';
import type { AuditCheckpoint } from '../../common/stores/audit-store.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import { parseSequence, parseTime, requireDigest } from './claims.js';
import { formatInstant } from './instant.js';
import { requireStringMembers, signCanonical, verifyCanonical } from './signed-json.js';
import { type AuditSigner, CHECKPOINT_TYP, kidOf } from './signer.js';

const MEMBERS = ['createdAt', 'hash', 'nodeId', 'sequence'] as const;

/**
 * Signs "the chain of `nodeId` up to `sequence` ends in `hash`": a compact JWS, `typ`
 * {@link CHECKPOINT_TYP}, over the canonical JSON of the proto `Checkpoint` fields
 * (`sequence` as a decimal string, `createdAt` RFC 3339).
 */
export async function signCheckpoint(
  input: { sequence: number; hash: string; nodeId: string; signedAt: Date },
  signer: AuditSigner,
): Promise<AuditCheckpoint> {
  const signature = await signCanonical(signer, CHECKPOINT_TYP, {
    sequence: String(input.sequence),
    hash: input.hash,
    createdAt: formatInstant(input.signedAt),
    nodeId: input.nodeId,
  });
  return {
    sequence: input.sequence,
    hash: input.hash,
    signedAt: new Date(input.signedAt.getTime()),
    kid: kidOf(signature),
    signature,
  };
}

function invalid(what: string, message: string, rule: string): MeshError {
  return new MeshError('AUDIT_CHECKPOINT_INVALID', `${what}: ${message}`, { details: { rule } });
}

/**
 * Verifies a stored checkpoint: the signature (`typ` {@link CHECKPOINT_TYP}, pinned
 * algorithms, one of `keys`), and that the signed sequence, hash, time, node and `kid` are
 * the stored ones. Whether the hash is the chain's is the caller's check.
 *
 * @throws MeshError `AUDIT_CHECKPOINT_INVALID` with `details.rule`
 */
export async function verifyCheckpoint(
  checkpoint: AuditCheckpoint,
  options: { keys: JwkSet; nodeId: string; now: Date },
): Promise<void> {
  const what = `checkpoint ${checkpoint.sequence}`;
  const { kid, payload } = await verifyCanonical(checkpoint.signature, {
    typ: CHECKPOINT_TYP,
    keys: options.keys,
    now: options.now,
    code: 'AUDIT_CHECKPOINT_INVALID',
    what,
  });
  const p = requireStringMembers(payload, MEMBERS, 'AUDIT_CHECKPOINT_INVALID', what);
  const sequence = parseSequence(p.sequence as string, 'AUDIT_CHECKPOINT_INVALID', what, 'sequence');
  const hash = requireDigest(p.hash as string, 'AUDIT_CHECKPOINT_INVALID', what, 'hash');
  const createdAt = parseTime(p.createdAt as string, 'AUDIT_CHECKPOINT_INVALID', what, 'createdAt');
  if (sequence !== checkpoint.sequence) throw invalid(what, `the signature covers sequence ${sequence}`, 'sequence');
  if (hash !== checkpoint.hash) throw invalid(what, 'the signed hash differs from the stored hash', 'hash');
  if (createdAt.getTime() !== checkpoint.signedAt.getTime())
    throw invalid(what, 'the signed time differs from the stored time', 'created-at');
  if (p.nodeId !== options.nodeId)
    throw invalid(what, `it was signed for node ${p.nodeId}, not ${options.nodeId}`, 'node');
  if (kid !== checkpoint.kid) throw invalid(what, `it names kid ${checkpoint.kid} but was signed by ${kid}`, 'kid');
}
