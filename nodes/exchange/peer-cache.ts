import { createHash, X509Certificate } from 'node:crypto';
import type { ClusterMetadataClaims } from '../../trust-anchor/index.js';

/** A current city CA of the metadata, parsed once per metadata version. */
export interface CurrentCa {
  readonly city: string;
  readonly der: Buffer;
  readonly pem: string;
  readonly cert: X509Certificate;
}

/** A peer that passed every check, and the window in which that result may be reused. */
export interface CachedPeer<T> {
  readonly peer: T;
  readonly validFromMs: number;
  readonly validUntilMs: number;
}

/** Per (metadata object, root): the current CAs and the peers verified under them. */
interface Bucket<T> {
  readonly version: number;
  readonly rootPem: string;
  cas: readonly CurrentCa[] | undefined;
  readonly peers: Map<string, CachedPeer<T>>;
}

const MAX_PEERS_PER_VERSION = 4096;

/**
 * Verified peers, kept per metadata version: a new version (a revocation, a replaced CA)
 * starts from nothing, so no result outlives the metadata it was decided on. Buckets are
 * keyed by the metadata object, which `TrustState` replaces on every accepted version;
 * the version number is compared too, so a caller editing claims in place without
 * bumping the version is the only way to get a stale answer.
 */
export class PeerCache<T> {
  readonly #buckets = new WeakMap<ClusterMetadataClaims, Bucket<T>>();

  #bucket(metadata: ClusterMetadataClaims, rootPem: string): Bucket<T> {
    const found = this.#buckets.get(metadata);
    if (found !== undefined && found.version === metadata.version && found.rootPem === rootPem) return found;
    const fresh: Bucket<T> = { version: metadata.version, rootPem, cas: undefined, peers: new Map() };
    this.#buckets.set(metadata, fresh);
    return fresh;
  }

  /** Every member's current CA certificates, parsed once per version. */
  currentCas(metadata: ClusterMetadataClaims, rootPem: string): readonly CurrentCa[] {
    const bucket = this.#bucket(metadata, rootPem);
    bucket.cas ??= metadata.members.flatMap((member) =>
      member.ca_certificates.flatMap((pem): CurrentCa[] => {
        try {
          const cert = new X509Certificate(pem);
          return [{ city: member.city, der: cert.raw, pem, cert }];
        } catch {
          // Signed metadata never carries one; if it did, that CA simply authenticates nobody.
          return [];
        }
      }),
    );
    return bucket.cas;
  }

  get(metadata: ClusterMetadataClaims, rootPem: string, key: string, nowMs: number): T | undefined {
    const hit = this.#bucket(metadata, rootPem).peers.get(key);
    return hit !== undefined && nowMs >= hit.validFromMs && nowMs <= hit.validUntilMs ? hit.peer : undefined;
  }

  set(metadata: ClusterMetadataClaims, rootPem: string, key: string, entry: CachedPeer<T>): void {
    const peers = this.#bucket(metadata, rootPem).peers;
    if (peers.size >= MAX_PEERS_PER_VERSION) peers.delete(peers.keys().next().value!);
    peers.set(key, entry);
  }
}

/** The cache key of a presented chain: its exact bytes, leaf first. */
export function chainKey(pems: readonly string[]): string {
  const hash = createHash('sha256');
  for (const pem of pems) hash.update(pem).update('\0');
  return hash.digest('base64url');
}
