import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { KeyStore } from '../../common/stores/index.js';
import { keysWith } from '../../trust-anchor/index.js';
import { cityCaKey } from '../trust/city-ca-key.js';
import { entityIdDnsNames, issueNodeCertificate, nodeCertificateDue } from '../trust/node-certificate.js';
import { readNodeFile } from '../trust/node-files.js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * The node's X.509-SVID and the cluster root as a grpc-js certificate provider, so a
 * renewed certificate reaches the server and every peer channel without a restart.
 */
export class NodeTlsIdentity implements grpc.experimental.CertificateProvider {
  readonly #dir: string;
  readonly #keys: KeyStore;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  #root: Buffer;
  #identity: { certificate: Buffer; privateKey: Buffer };
  #notAfter: Date;

  private constructor(dir: string, keys: KeyStore, root: string, chain: string, keyPem: string) {
    this.#dir = dir;
    this.#keys = keys;
    this.#root = Buffer.from(root);
    this.#identity = { certificate: Buffer.from(chain), privateKey: Buffer.from(keyPem) };
    this.#notAfter = new Date(new X509Certificate(chain).validTo);
  }

  /** Loads the SVID `node join` (or the last renewal) left, renewing it first when due. */
  static async load(dir: string, keys: KeyStore, clock: Clock, lifetimeHours: number): Promise<NodeTlsIdentity> {
    if (nodeCertificateDue(dir, clock.now())) await renew(dir, keys, clock, lifetimeHours);
    const tls = await keysWith(keys, 'tls', 'active');
    const key = tls.at(-1);
    if (key?.privateKeyPem === undefined) {
      throw new MeshError('KEY_NOT_FOUND', `${dir} has no active TLS key; run \`citymesh node join\` again`, {});
    }
    return new NodeTlsIdentity(
      dir,
      keys,
      readNodeFile(dir, 'bundle'),
      readNodeFile(dir, 'nodeCert'),
      key.privateKeyPem,
    );
  }

  get notAfter(): Date {
    return this.#notAfter;
  }

  get rootPem(): string {
    return this.#root.toString();
  }

  /**
   * Renews the SVID from the city CA once past half its lifetime. Needs no anchor, so
   * certificates keep renewing through an anchor outage. Returns whether it renewed.
   */
  async renewIfDue(clock: Clock, lifetimeHours: number): Promise<boolean> {
    if (!nodeCertificateDue(this.#dir, clock.now())) return false;
    await renew(this.#dir, this.#keys, clock, lifetimeHours);
    const tls = (await keysWith(this.#keys, 'tls', 'active')).at(-1)!;
    const chain = readNodeFile(this.#dir, 'nodeCert');
    this.#identity = { certificate: Buffer.from(chain), privateKey: Buffer.from(tls.privateKeyPem!) };
    this.#notAfter = new Date(new X509Certificate(chain).validTo);
    for (const listener of this.#identityListeners) listener(this.#identity);
    return true;
  }

  // Listeners hear the current material on the next tick: grpc-js registers its watcher
  // only after adding the listener, so a synchronous call would be lost.
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    setImmediate(() => this.#caListeners.has(listener) && listener({ caCertificate: this.#root }));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    setImmediate(() => this.#identityListeners.has(listener) && listener(this.#identity));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}

async function renew(dir: string, keys: KeyStore, clock: Clock, lifetimeHours: number): Promise<void> {
  const ca = await cityCaKey(dir, keys);
  const identity = JSON.parse(readNodeFile(dir, 'identity')) as { spiffeId: string; entityId: string };
  const cityCaPem = ca.certificatePem;
  const caNotAfter = new Date(new X509Certificate(cityCaPem).validTo).getTime();
  const hoursLeft = Math.floor((caNotAfter - clock.nowMs()) / 3_600_000);
  if (hoursLeft < 1) {
    throw new MeshError(
      'CERTIFICATE_EXPIRED',
      `the city CA expires at ${new Date(caNotAfter).toISOString()}; it must be renewed before the node certificate can be`,
      {},
    );
  }
  await issueNodeCertificate({
    dir,
    keys,
    cityCa: ca,
    spiffeId: identity.spiffeId,
    // An SVID never outlives the CA that issued it.
    lifetimeHours: Math.min(lifetimeHours, hoursLeft),
    now: clock.now(),
    dnsNames: entityIdDnsNames(identity.entityId),
  });
}
