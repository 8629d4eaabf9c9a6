import { X509Certificate } from 'node:crypto';
import { isMeshError } from '../../common/errors/mesh-error.js';
import {
  assertNotRevoked,
  type ClusterMetadataClaims,
  fail,
  findMember,
  findNode,
  type VerifiedCertificatePath,
  verifyCertificatePath,
} from '../../trust-anchor/index.js';
import { type CurrentCa, chainKey, PeerCache } from './peer-cache.js';

/** A client certificate chain as TLS presents it: leaf first, then any intermediates; PEM or DER each. */
export type PeerCertificateChain = readonly (string | Uint8Array)[];

/** Options of {@link authenticatePeer}. */
export interface AuthenticatePeerOptions {
  /** The node's current, verified cluster metadata (`TrustState.metadata`). */
  readonly metadata: ClusterMetadataClaims;
  /** The pinned cluster root (PEM). */
  readonly rootPem: string;
  readonly now: Date;
  /** Clock skew tolerated on certificate validity; default 60 s. */
  readonly leewaySeconds?: number;
  /** Where verified peers are kept; a process-wide one by default. */
  readonly cache?: PeerCache<AuthenticatedPeer>;
}

/** Who is at the other end of an mTLS connection, as the cluster metadata lists it. */
export interface AuthenticatedPeer {
  readonly spiffeId: string;
  readonly cluster: string;
  readonly city: string;
  readonly nodeName: string;
  readonly trustDomain: string;
  /** The leaf's canonical serial. */
  readonly serial: string;
}

const DEFAULT_LEEWAY_SECONDS = 60;
const defaultCache = new PeerCache<AuthenticatedPeer>();

function toPem(cert: string | Uint8Array): string {
  if (typeof cert === 'string') return cert;
  const lines =
    Buffer.from(cert)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function tryParse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * Builds and verifies the path. With intermediates presented, those are verified as given
 * and the issuing one must then be current. grpc-js exposes only the leaf, so without
 * intermediates the candidates are the metadata's current CAs that name the leaf's
 * issuer: a leaf of a replaced CA then has no path at all.
 */
function verifyPath(
  pems: readonly string[],
  cas: readonly CurrentCa[],
  options: AuthenticatePeerOptions,
  version: number,
): { verified: VerifiedCertificatePath; issuerDer: Buffer | undefined } {
  const [leafPem, ...presented] = pems as [string, ...string[]];
  const base = {
    leafPem,
    rootPems: [options.rootPem],
    now: options.now,
    leewaySeconds: options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS,
  };
  if (presented.length > 0) {
    const verified = verifyCertificatePath({ ...base, chainPems: presented });
    return { verified, issuerDer: tryParse(presented[0]!)?.raw };
  }
  const leaf = tryParse(leafPem);
  const candidates = leaf === undefined ? [] : cas.filter((ca) => leaf.checkIssued(ca.cert));
  if (candidates.length === 0) {
    try {
      // Still run the verifier: it names what is wrong with a malformed leaf, and a leaf signed by the root itself verifies here.
      return { verified: verifyCertificatePath(base), issuerDer: undefined };
    } catch (err) {
      if (!(isMeshError(err) && err.details.rule === 'untrusted-root')) throw err;
      throw fail(
        'CERTIFICATE_INVALID',
        'issuer-not-current',
        `the client certificate was not issued by a current city CA of metadata version ${version}`,
        { version },
        err,
      );
    }
  }
  let first: unknown;
  for (const ca of candidates) {
    try {
      return { verified: verifyCertificatePath({ ...base, chainPems: [ca.pem] }), issuerDer: ca.der };
    } catch (err) {
      first ??= err;
    }
  }
  throw first;
}

/** Earliest end and latest start of the path's validity: how long a verified result may be reused. */
function validityWindow(pems: readonly string[], issuerPem: string | undefined, rootPem: string, leewayMs: number) {
  let from = Number.NEGATIVE_INFINITY;
  let until = Number.POSITIVE_INFINITY;
  for (const pem of [pems[0]!, ...(issuerPem === undefined ? [] : [issuerPem]), rootPem]) {
    const cert = new X509Certificate(pem);
    from = Math.max(from, Date.parse(cert.validFrom));
    until = Math.min(until, Date.parse(cert.validTo));
  }
  return { validFromMs: from - leewayMs, validUntilMs: until + leewayMs };
}

/**
 * Authenticates the peer of an mTLS connection: the client certificate must chain to the
 * cluster root through a current city CA of a member city that is not revoked, and name a
 * node the metadata lists. Checks, in order, each with its own code and `details.rule`:
 *
 * 1. a certificate is presented — `CREDENTIALS_MISSING` (`no-client-certificate`);
 * 2. the metadata is not expired — `METADATA_EXPIRED` (`expired`);
 * 3. the path verifies to the pinned root (`verifyCertificatePath`: signatures, validity,
 *    CA and leaf profiles, SPIFFE ID, name constraints) — its codes and rules;
 * 4. the issuing CA is one of the city's current `ca_certificates` — `NOT_A_MEMBER`
 *    (`city-not-member`) for a city the metadata does not list, else `CERTIFICATE_INVALID`
 *    (`issuer-not-current`);
 * 5. the city is not revoked — `CITY_REVOKED`;
 * 6. the SPIFFE ID is in the member's trust domain (`PEER_IDENTITY_MISMATCH`,
 *    `trust-domain`), names a node (`NOT_A_MEMBER`, `not-a-node`) that the metadata lists
 *    (`NOT_A_MEMBER`, `node-not-member`) and that is not revoked (`NODE_REVOKED`);
 * 7. neither the leaf's nor its CA's serial is revoked — `CERTIFICATE_INVALID` (`certificate-revoked`).
 *
 * Results are cached per (presented chain, metadata version, root) while every
 * certificate of the path is valid, so a busy connection is not re-verified per call.
 *
 * @throws MeshError with the codes above
 */
export function authenticatePeer(
  chain: PeerCertificateChain | null | undefined,
  options: AuthenticatePeerOptions,
): AuthenticatedPeer {
  if (!Array.isArray(chain) || chain.length === 0 || chain.some((c) => c === undefined || c.length === 0)) {
    throw fail('CREDENTIALS_MISSING', 'no-client-certificate', 'the peer presented no client certificate');
  }
  const { metadata, rootPem } = options;
  const nowMs = options.now.getTime();
  if (metadata.exp * 1000 <= nowMs) {
    throw fail('METADATA_EXPIRED', 'expired', `cluster metadata version ${metadata.version} has expired`, {
      version: metadata.version,
    });
  }
  const pems = (chain as readonly (string | Uint8Array)[]).map(toPem);
  const cache = options.cache ?? defaultCache;
  const key = chainKey(pems);
  const cached = cache.get(metadata, rootPem, key, nowMs);
  if (cached !== undefined) return cached;

  const cas = cache.currentCas(metadata, rootPem);
  const { verified, issuerDer } = verifyPath(pems, cas, options, metadata.version);
  const member = findMember(metadata, verified.city);
  const issuer = cas.find((ca) => ca.city === member.city && issuerDer !== undefined && ca.der.equals(issuerDer));
  if (issuer === undefined) {
    throw fail(
      'CERTIFICATE_INVALID',
      'issuer-not-current',
      `${verified.spiffeId} was issued by a CA that is not one of ${member.city}'s current CAs in metadata version ${metadata.version}`,
      { spiffeId: verified.spiffeId, version: metadata.version },
    );
  }
  assertNotRevoked(metadata, { city: member.city });
  if (verified.trustDomain !== member.trust_domain) {
    throw fail(
      'PEER_IDENTITY_MISMATCH',
      'trust-domain',
      `${verified.spiffeId} is outside ${member.city}'s trust domain ${member.trust_domain}`,
      { spiffeId: verified.spiffeId },
    );
  }
  if (verified.kind !== 'node') {
    throw fail('NOT_A_MEMBER', 'not-a-node', `${verified.spiffeId} is not a node; only nodes are peers`, {
      spiffeId: verified.spiffeId,
    });
  }
  const { node } = findNode(metadata, verified.spiffeId);
  assertNotRevoked(metadata, { nodeSpiffeId: verified.spiffeId });
  assertNotRevoked(metadata, { certificateSerial: verified.serial });
  assertNotRevoked(metadata, { certificateSerial: verified.issuerSerial });

  const peer: AuthenticatedPeer = Object.freeze({
    spiffeId: verified.spiffeId,
    cluster: verified.cluster,
    city: member.city,
    nodeName: node.name,
    trustDomain: member.trust_domain,
    serial: verified.serial,
  });
  const leewayMs = (options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS) * 1000;
  cache.set(metadata, rootPem, key, { peer, ...validityWindow(pems, issuer.pem, rootPem, leewayMs) });
  return peer;
}
