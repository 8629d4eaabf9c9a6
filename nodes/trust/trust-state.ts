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
import { nodePath, readNodeFile, writeFileAtomicAsync } from './node-files.js';

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

/** Writes one of the node's files atomically: the old content or the new survives a crash. */
export type NodeFileWriter = (path: string, content: string) => Promise<void>;

/** Options of {@link TrustState.load}. */
export interface TrustStateOptions {
  /** How metadata and pins reach the disk; default {@link writeFileAtomicAsync} (tests: slow or failing writers). */
  readonly writeFile?: NodeFileWriter;
  /** Wait before writing again after a failed write, doubled each time up to 30 s; default 500 ms. */
  readonly retryMs?: number;
}

/** A metadata document {@link TrustState.admit} holds: verified, and current in memory. */
export interface Admission {
  readonly version: number;
  /** False when that version was already held (with the same content: nothing changed). */
  readonly changed: boolean;
  /**
   * Resolves once the node's files hold this version (the same for an unchanged one: a
   * pull of it does not return before it is on disk). Rejects with the first failure to
   * write them; writing is retried, in order.
   */
  readonly persisted: Promise<void>;
}

/** The writing of one admitted version. */
interface PendingWrite {
  written: boolean;
  /** The last attempt's error while it keeps failing. */
  failure?: { error: unknown };
  /** Resolves once written; rejects with the first failure. */
  readonly persisted: Promise<void>;
}

/** Longest wait between two attempts to write metadata that could not be written. */
const MAX_RETRY_MS = 30_000;

/**
 * A node's view of the cluster: the last metadata it verified (kept on disk), the anchor
 * keys it pins, and the offline budget left. Metadata is only ever replaced by a newer
 * version signed by a pinned key, or the same version with the same content.
 *
 * A document becomes current in memory as soon as it verifies ({@link admit}); its files
 * are written afterwards, strictly in the order versions were admitted, each one before
 * any later one. So the files always hold a verified version no newer than the one in
 * memory, under pins it verifies with: a crash in between leaves an older, valid state,
 * which the next pull (the node pulls when it starts) brings up to date.
 */
export class TrustState {
  readonly #dir: string;
  readonly #clock: Clock;
  readonly identity: NodeIdentity;
  readonly #writeFile: NodeFileWriter;
  readonly #retryMs: number;
  #pins: JwkSet;
  #verified: VerifiedClusterMetadata | undefined;
  #lastJwt: string;
  #accepting: Promise<unknown> = Promise.resolve();
  /** The writes of admitted versions, chained in order; never rejects. */
  #disk: Promise<void> = Promise.resolve();
  /** How the writing of the version held goes. */
  #held: PendingWrite = { written: true, persisted: Promise.resolve() };

  private constructor(
    dir: string,
    clock: Clock,
    identity: NodeIdentity,
    pins: JwkSet,
    jwt: string,
    options: TrustStateOptions,
  ) {
    this.#dir = dir;
    this.#clock = clock;
    this.identity = identity;
    this.#pins = pins;
    this.#lastJwt = jwt;
    this.#writeFile = options.writeFile ?? ((path, content) => writeFileAtomicAsync(path, content));
    this.#retryMs = options.retryMs ?? 500;
  }

  /** Loads a joined node's trust material and re-verifies the cached metadata. */
  static async load(dir: string, clock: Clock, options: TrustStateOptions = {}): Promise<TrustState> {
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
      options,
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

  /**
   * Verifies and keeps a metadata document from any source (anchor pull or gossip), as
   * {@link admit} does, and resolves once it is on disk.
   *
   * @throws the first error writing the node's files; the version is held in memory all the same
   */
  async accept(jwt: string): Promise<{ version: number; changed: boolean }> {
    const { version, changed, persisted } = await this.admit(jwt);
    await persisted;
    return { version, changed };
  }

  /**
   * Verifies a metadata document and, when it is newer, makes it current at once: every
   * later check uses it. Its files are written afterwards (`persisted`), so whoever waits
   * for the verdict (gossip relaying it) does not wait for the disk. The bytes of the
   * document held are not verified again while it is valid.
   */
  admit(jwt: string): Promise<Admission> {
    // A pull and gossip may deliver at once: each document is checked against what the
    // one before it left, so a slower, older one can never overwrite a newer one.
    const run = this.#accepting.then(
      () => this.#admit(jwt),
      () => this.#admit(jwt),
    );
    this.#accepting = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every version admitted so far is on disk. */
  flush(): Promise<void> {
    return this.#disk;
  }

  async #admit(jwt: string): Promise<Admission> {
    const previous = this.#verified;
    if (previous !== undefined && jwt === this.#lastJwt && this.#heldStillVerifies(previous)) {
      return { version: previous.version, changed: false, persisted: this.#heldPersisted() };
    }
    // After a restart on expired metadata nothing is verified, but the version on disk
    // was: never go below it (an equal version is refused, as its digest is unknown).
    const floor = previous
      ? { minVersion: previous.version, acceptedDigest: previous.digest }
      : { minVersion: decodeJwt(this.#lastJwt).version as number };
    const verified = await this.#verify(jwt, floor);
    const changed = previous === undefined || verified.version !== previous.version;
    const pins = nextPinnedAnchorKeys(this.#pins, verified);
    // The same version with the same content: the same pins, nothing to write.
    if (!changed) return { version: verified.version, changed, persisted: this.#heldPersisted() };
    this.#pins = pins;
    this.#verified = verified;
    this.#lastJwt = jwt;
    this.#held = this.#persist(jwt, JSON.stringify(pins, null, 2));
    return { version: verified.version, changed, persisted: this.#held.persisted };
  }

  /** For the version held once more: written, still failing (the last error), or still on its way. */
  #heldPersisted(): Promise<void> {
    const held = this.#held;
    if (held.written) return Promise.resolve();
    if (held.failure === undefined) return held.persisted;
    const failing = Promise.reject(held.failure.error);
    failing.catch(() => undefined);
    return failing;
  }

  /**
   * Whether the held document, verified before, would verify again now: the key that
   * signed it is still pinned and its time window still holds (the pins may have dropped
   * its key; time moves on). Then the same bytes need no second verification.
   */
  #heldStillVerifies(held: VerifiedClusterMetadata): boolean {
    const now = this.#clock.nowSeconds();
    return now >= held.metadata.iat && now < held.metadata.exp && this.#pins.keys.some((key) => key.kid === held.kid);
  }

  /**
   * Queues the writing of an admitted version after every earlier one. Metadata goes
   * first: the pins on disk then are those it was verified under, so a crash between the
   * two files leaves a pair that verifies; new pins may drop a key the old document needs.
   * A failed write is tried again (with back-off) before any later version is written, so
   * the files never skip a version whose pins the next one may depend on.
   */
  #persist(jwt: string, pins: string): PendingWrite {
    let report: { resolve: () => void; reject: (err: unknown) => void } | undefined;
    const write: PendingWrite = {
      written: false,
      persisted: new Promise<void>((resolve, reject) => {
        report = { resolve, reject };
      }),
    };
    // Gossip does not wait for the disk: a failure nobody awaits must not go unhandled.
    write.persisted.catch(() => undefined);
    this.#disk = this.#disk.then(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#writeFile(nodePath(this.#dir, 'metadata'), jwt);
          await this.#writeFile(nodePath(this.#dir, 'pins'), pins);
          write.written = true;
          write.failure = undefined;
          report?.resolve();
          return;
        } catch (error) {
          write.failure = { error };
          report?.reject(error);
          report = undefined;
          const wait = Math.min(MAX_RETRY_MS, this.#retryMs * 2 ** Math.min(attempt, 16));
          await new Promise((resolve) => setTimeout(resolve, wait).unref());
        }
      }
    });
    return write;
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
