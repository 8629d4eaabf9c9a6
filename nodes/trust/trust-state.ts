import { X509Certificate } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Clock } from '../../common/clock.js';
import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import {
  assertNotRevoked,
  type ClusterMetadataClaims,
  findMember,
  type JwkSet,
  nextPinnedAnchorKeys,
  type VerifiedClusterMetadata,
  verifyClusterMetadata,
  verifyEntityStatement,
} from '../../trust-anchor/index.js';
import { anchorFailure, anchorRequest } from './anchor-client.js';
import type { NodeIdentity } from './identity.js';
import { nodePath, readNodeFile, writeFileAtomic } from './node-files.js';

/** What `node status` and health report about trust. */
export interface TrustStatus {
  readonly cluster: string;
  readonly city: string;
  readonly node: string;
  readonly metadataVersion: number;
  readonly metadataExpiresAt: string;
  /** Seconds the node can keep serving without reaching the anchor; 0 once spent. */
  readonly offlineBudgetSeconds: number;
  readonly state: 'current' | 'expired';
  readonly members: readonly string[];
  readonly revocations: number;
}

/**
 * A node's view of the cluster: the last metadata it verified (kept on disk), the anchor
 * keys it pins, and the offline budget left. Metadata is only ever replaced by a newer
 * version signed by a pinned key, or the same version with the same content.
 */
export class TrustState {
  readonly #dir: string;
  readonly #clock: Clock;
  readonly identity: NodeIdentity;
  #pins: JwkSet;
  #verified: VerifiedClusterMetadata | undefined;
  #lastJwt: string;
  #accepting: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, clock: Clock, identity: NodeIdentity, pins: JwkSet, jwt: string) {
    this.#dir = dir;
    this.#clock = clock;
    this.identity = identity;
    this.#pins = pins;
    this.#lastJwt = jwt;
  }

  /** Loads a joined node's trust material and re-verifies the cached metadata. */
  static async load(dir: string, clock: Clock): Promise<TrustState> {
    let identity: NodeIdentity;
    try {
      identity = JSON.parse(readNodeFile(dir, 'identity')) as NodeIdentity;
    } catch (cause) {
      throw new MeshError('INVALID_CONFIG', `${dir} holds no joined node; run \`citymesh node join\` first`, {
        details: { field: 'dir' },
        cause,
      });
    }
    const state = new TrustState(
      dir,
      clock,
      identity,
      JSON.parse(readNodeFile(dir, 'pins')) as JwkSet,
      readNodeFile(dir, 'metadata'),
    );
    try {
      state.#verified = await state.#verify(state.#lastJwt, {});
    } catch (err) {
      // Expired cached metadata is still the node's state; it just may not serve on it.
      if (!isMeshError(err, 'METADATA_EXPIRED')) throw err;
    }
    return state;
  }

  /** The verified metadata; throws METADATA_EXPIRED once the offline budget is spent. */
  get metadata(): ClusterMetadataClaims {
    if (this.#verified === undefined || this.offlineBudgetSeconds() === 0) {
      throw new MeshError(
        'METADATA_EXPIRED',
        `cluster metadata expired at ${this.#expiresAt().toISOString()}; the anchor must be reached`,
        {},
      );
    }
    return this.#verified.metadata;
  }

  /** Seconds left before the cached metadata expires. */
  offlineBudgetSeconds(): number {
    return Math.max(0, Math.floor((this.#expiresAt().getTime() - this.#clock.nowMs()) / 1000));
  }

  /**
   * Pulls the current metadata from the anchor and keeps it when it verifies: a newer
   * version, or the same version with identical content. Pins follow rollover.
   */
  async refresh(): Promise<{ version: number; changed: boolean }> {
    const res = await anchorRequest(this.identity.anchorUrl, '/cluster-metadata', {
      rootPem: readNodeFile(this.#dir, 'bundle'),
    });
    if (res.status !== 200) throw anchorFailure(res.status, res.body);
    return this.accept(res.body);
  }

  /** Verifies and keeps a metadata document from any source (anchor pull or gossip). */
  accept(jwt: string): Promise<{ version: number; changed: boolean }> {
    // A pull and gossip may deliver at once: each document is checked against what the
    // one before it left, so a slower, older one can never overwrite a newer one.
    const run = this.#accepting.then(
      () => this.#accept(jwt),
      () => this.#accept(jwt),
    );
    this.#accepting = run.catch(() => undefined);
    return run;
  }

  async #accept(jwt: string): Promise<{ version: number; changed: boolean }> {
    const previous = this.#verified;
    // After a restart on expired metadata nothing is verified, but the version on disk
    // was: never go below it (an equal version is refused, as its digest is unknown).
    const floor = previous
      ? { minVersion: previous.version, acceptedDigest: previous.digest }
      : { minVersion: decodeJwt(this.#lastJwt).version as number };
    const verified = await this.#verify(jwt, floor);
    const changed = previous === undefined || verified.version !== previous.version;
    const pins = nextPinnedAnchorKeys(this.#pins, verified);
    writeFileAtomic(nodePath(this.#dir, 'metadata'), jwt);
    writeFileAtomic(nodePath(this.#dir, 'pins'), JSON.stringify(pins, null, 2));
    this.#pins = pins;
    this.#verified = verified;
    this.#lastJwt = jwt;
    return { version: verified.version, changed };
  }

  /**
   * Verifies a peer city: a current member, not revoked, whose subordinate statement
   * from the anchor verifies under the pinned keys, and whose CA certificates chain to
   * the cluster root.
   */
  async verifyPeerCity(city: string): Promise<{ entityId: string }> {
    const metadata = this.metadata;
    const member = findMember(metadata, city);
    assertNotRevoked(metadata, { city });
    const bundle = readNodeFile(this.#dir, 'bundle');
    const res = await anchorRequest(this.identity.anchorUrl, `/fetch?sub=${encodeURIComponent(member.entity_id)}`, {
      rootPem: bundle,
    });
    if (res.status !== 200) throw anchorFailure(res.status, res.body);
    await verifyEntityStatement(res.body, {
      keys: this.#pins,
      now: this.#clock.nowSeconds(),
      expectedIss: this.identity.anchorEntityId,
      expectedSub: member.entity_id,
    });
    const root = new X509Certificate(bundle);
    for (const pem of member.ca_certificates) {
      if (!new X509Certificate(pem).verify(root.publicKey)) {
        throw new MeshError('CERTIFICATE_INVALID', `a CA certificate of ${city} does not chain to the cluster root`, {
          details: { city },
        });
      }
    }
    return { entityId: member.entity_id };
  }

  /** The status health and `node status` report. */
  status(): TrustStatus {
    const claims = this.#verified?.metadata ?? (decodeJwt(this.#lastJwt) as unknown as ClusterMetadataClaims);
    const budget = this.offlineBudgetSeconds();
    return {
      cluster: this.identity.cluster,
      city: this.identity.city,
      node: this.identity.spiffeId,
      metadataVersion: claims.version,
      metadataExpiresAt: this.#expiresAt().toISOString(),
      offlineBudgetSeconds: budget,
      state: budget > 0 && this.#verified ? 'current' : 'expired',
      members: claims.members.map((m) => m.city),
      revocations: claims.revocations.length,
    };
  }

  #expiresAt(): Date {
    const exp = this.#verified?.metadata.exp ?? (decodeJwt(this.#lastJwt).exp as number);
    return new Date(exp * 1000);
  }

  #verify(jwt: string, previous: { minVersion?: number; acceptedDigest?: string }): Promise<VerifiedClusterMetadata> {
    return verifyClusterMetadata(jwt, {
      anchorKeys: this.#pins,
      now: this.#clock.nowSeconds(),
      expectedCluster: this.identity.cluster,
      expectedIssuer: this.identity.anchorEntityId,
      ...previous,
    });
  }
}
