import { parseClusterName, TRUST_DOMAIN_SUFFIX } from '../../common/ids/index.js';
import type { EcKeyPair } from './keys.js';
import { permittedUriHostsExtension } from './name-constraints.js';
import { type IssuedCertificate, issued, requireDate, requirePositive, serialFor, validityWindow } from './profile.js';
import { SIGNING_ALGORITHM, x509 } from './provider.js';

/** Options of {@link createClusterRootCa}. */
export interface CreateClusterRootCaOptions {
  /** The cluster this root is the trust anchor of, e.g. `jjj`. */
  readonly cluster: string;
  /** The root key pair (the anchor's offline-capable key). */
  readonly keys: EcKeyPair;
  readonly now: Date;
  /** Lifetime in days from `now`. */
  readonly lifetimeDays: number;
  /** Serial in hex; random (16 bytes) when omitted. */
  readonly serial?: string;
}

/** Subject CN of a cluster root: `citymesh <cluster> root`. */
export function rootCommonName(cluster: string): string {
  return `citymesh ${cluster} root`;
}

/**
 * The URI name constraint of a cluster root: `.<cluster>.citymesh`, i.e. every city trust
 * domain of the cluster and nothing else (RFC 5280 §4.2.1.10, leading period = hosts below).
 */
export function clusterUriConstraint(cluster: string): string {
  return `.${cluster}.${TRUST_DOMAIN_SUFFIX}`;
}

/**
 * Creates the self-signed root CA of a cluster: CN `citymesh <cluster> root`,
 * basicConstraints cA with pathLenConstraint 1 (root → city CA → leaf, nothing deeper),
 * keyUsage keyCertSign + cRLSign (critical), a subject key identifier, and a critical
 * name constraint permitting only URIs in `.<cluster>.citymesh`.
 *
 * The name constraint goes beyond the brief: it is defence in depth that OpenSSL also
 * enforces (it applies a trust anchor's constraints too), so even a mis-issued city CA
 * cannot mint identities of another cluster (`bundles are never merged`). It constrains
 * URI names only; the anchor's own TLS certificate (DNS/IP SANs) is unaffected.
 */
export async function createClusterRootCa(options: CreateClusterRootCaOptions): Promise<IssuedCertificate> {
  const cluster = parseClusterName(options.cluster);
  const now = requireDate(options.now, 'now');
  const lifetimeDays = requirePositive(options.lifetimeDays, 'lifetimeDays');
  const { notBefore, notAfter } = validityWindow(now, lifetimeDays * 86_400_000);
  const keys = { privateKey: options.keys.privateKey, publicKey: options.keys.publicKey };
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialFor(options.serial),
    name: [{ O: ['citymesh'] }, { CN: [rootCommonName(cluster)] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      permittedUriHostsExtension([clusterUriConstraint(cluster)]),
    ],
  });
  return issued(cert);
}
