import { formatTrustDomain, parseCityName, parseClusterName, SPIFFE_SCHEME_PREFIX } from '../../common/ids/index.js';
import { type LoadedIssuer, loadIssuer } from './issuer.js';
import type { EcKeyPair } from './keys.js';
import { kindProblem, LEAF_PROFILES, type LeafProfile, leafProfileOf } from './leaf-profile.js';
import { checkName, permittedUriHostsExtension } from './name-constraints.js';
import { checkDnsNames, parseCertificateSpiffeUri } from './names.js';
import {
  type IssuedCertificate,
  issued,
  refuse,
  requireDate,
  requirePositive,
  serialFor,
  validityWindow,
} from './profile.js';
import { type CryptoKey, SIGNING_ALGORITHM, x509 } from './provider.js';
import { checkRequestedUri, type SubjectKeySource, subjectKey } from './subject-source.js';

export type { SubjectKeySource } from './subject-source.js';

/** The issuing CA and the moment of issuance, common to every issuing function. */
export interface IssuerOptions {
  /** The issuing CA certificate (PEM). */
  readonly issuerCertPem: string;
  /** The issuing CA's key pair; must match `issuerCertPem`. */
  readonly issuerKeys: EcKeyPair;
  readonly now: Date;
  /** Lifetime in hours from `now`, capped at the issuer's `notAfter`. */
  readonly lifetimeHours: number;
  /** Serial in hex; random (16 bytes) when omitted. */
  readonly serial?: string;
}

/** Options of {@link issueCityIntermediateCa}. */
export type IssueCityIntermediateCaOptions = IssuerOptions & {
  /** The city's request, signed with the key the city generated locally. */
  readonly csrPem: string;
  readonly cluster: string;
  readonly city: string;
};

/** Options of {@link issueSpiffeLeaf}. */
export type IssueSpiffeLeafOptions = IssuerOptions &
  SubjectKeySource & {
    /** The one SPIFFE ID the certificate names, e.g. `spiffe://beijing.jjj.citymesh/node/node-1`. */
    readonly spiffeId: string;
    /**
     * DNS SANs for TLS server-name checks (grpc-js verifies the name it dials, e.g.
     * `localhost`). SPIFFE authentication ignores them: only the URI SAN identifies.
     * None in the `device` profile: a device serves no TLS.
     */
    readonly dnsNames?: readonly string[];
    /**
     * `node` (default): EKU serverAuth + clientAuth, P-256 keys, any SPIFFE kind but
     * `device`. `device`: EKU clientAuth only, P-256 or Ed25519 keys, a device SPIFFE id.
     */
    readonly profile?: LeafProfile;
  };

/** Options of {@link issueTlsServerCert}. */
export type IssueTlsServerCertOptions = IssuerOptions &
  SubjectKeySource & {
    /** Subject CN; default `citymesh trust anchor`. */
    readonly subjectCn?: string;
    /** DNS SANs; default `['localhost']`. */
    readonly dnsNames?: readonly string[];
    /** IP SANs; default `['127.0.0.1']`. */
    readonly ipAddresses?: readonly string[];
  };

/** Refuses to name a URI host that the issuer's own name constraints exclude (RFC 5280 §4.2.1.10). */
function checkIssuerConstraints(issuer: LoadedIssuer, host: string, uri: string): void {
  if (issuer.nameConstraints === null) return;
  const violation = checkName(issuer.nameConstraints, 'uri', host);
  if (violation !== null) {
    throw refuse(
      'CERTIFICATE_NAME_CONSTRAINT',
      `issuer "${issuer.cert.subject}" may not issue ${uri}: its name constraints do not permit ${host}`,
      {
        rule: violation,
        name: uri,
        issuer: issuer.cert.subject,
      },
    );
  }
}

async function sign(
  issuer: LoadedIssuer,
  options: IssuerOptions,
  subject: x509.JsonName,
  publicKey: CryptoKey,
  extensions: x509.Extension[],
): Promise<IssuedCertificate> {
  const now = requireDate(options.now, 'now');
  const lifetimeHours = requirePositive(options.lifetimeHours, 'lifetimeHours');
  const { notBefore, notAfter } = validityWindow(now, lifetimeHours * 3_600_000, issuer.cert.notAfter);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialFor(options.serial),
    subject,
    issuer: issuer.cert.subjectName,
    notBefore,
    notAfter,
    publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      issuer.authorityKeyIdentifier,
    ],
  });
  return issued(cert);
}

/**
 * Issues a city's intermediate CA, signed by the cluster root:
 * - basicConstraints cA, pathLenConstraint 0 (it signs leaves only); keyUsage keyCertSign
 *   + cRLSign, critical (X509-SVID §4.3);
 * - a critical name constraint permitting only URIs whose host is the city's trust domain
 *   `<city>.<cluster>.citymesh` (RFC 5280 §4.2.1.10: for URIs the constraint is the host;
 *   no leading period, so exactly that host). DNS names are left unconstrained on purpose:
 *   nodes need `localhost`, and DNS SANs never identify a peer in citymesh;
 * - a URI SAN `spiffe://<city>.<cluster>.citymesh`. Decision: included. X509-SVID §3.2 says a
 *   signing certificate SHOULD itself be an SVID whose SPIFFE ID has no path; it lets a
 *   verifier or an operator tell which city a CA belongs to without decoding constraints.
 *   It does not constrain anything by itself; the name constraint does.
 *
 * The subject key comes from the CSR (signature verified); the names come from `cluster`
 * and `city`, never from the CSR, and a CSR asking for another SPIFFE ID is refused.
 *
 * @throws MeshError `MALFORMED_REQUEST` (CSR or issuer unusable, issuer pathLen 0),
 *   `CERTIFICATE_NAME_CONSTRAINT` (the root's constraints exclude this city's trust domain),
 *   `CERTIFICATE_EXPIRED` (issuer not valid at `now`), `INVALID_IDENTIFIER` (bad cluster or city)
 */
export async function issueCityIntermediateCa(options: IssueCityIntermediateCaOptions): Promise<IssuedCertificate> {
  const cluster = parseClusterName(options.cluster);
  const city = parseCityName(options.city);
  const now = requireDate(options.now, 'now');
  const trustDomain = formatTrustDomain(cluster, city);
  const uri = `${SPIFFE_SCHEME_PREFIX}${trustDomain}`;
  const issuer = await loadIssuer(options.issuerCertPem, options.issuerKeys, now);
  if (issuer.pathLength === 0) {
    throw refuse(
      'MALFORMED_REQUEST',
      `issuer "${issuer.cert.subject}" has pathLenConstraint 0 and cannot certify another CA`,
      {
        field: 'issuerCertPem',
        rule: 'path-length',
      },
    );
  }
  checkIssuerConstraints(issuer, trustDomain, uri);
  const { publicKey, requestedUris } = await subjectKey({ csrPem: options.csrPem });
  checkRequestedUri(requestedUris, uri);
  return sign(
    issuer,
    options,
    [{ O: ['citymesh'] }, { OU: [trustDomain] }, { CN: [`citymesh ${cluster} ${city} ca`] }],
    publicKey,
    [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      permittedUriHostsExtension([trustDomain]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], false),
    ],
  );
}

/**
 * Issues an X509-SVID leaf: exactly one URI SAN (the SPIFFE ID), optional DNS SANs,
 * basicConstraints cA false and keyUsage digitalSignature (both critical), the EKU of its
 * profile (X509-SVID §4.4; `node`: serverAuth + clientAuth, `device`: clientAuth only),
 * validity capped at the issuer's `notAfter`. The SPIFFE ID is checked against the
 * profile (`leaf-profile`: a device id needs the device profile, and only a device id
 * gets it) and the issuer's name constraints before anything is signed. The issuer
 * signs with its P-256 key whatever the subject key (an Ed25519 device key included).
 *
 * The subject DN is informational (`O=citymesh, OU=<trust domain>, CN=<kind>/<name>`; the CN
 * is left out when longer than 64 characters). Verifiers identify by the URI SAN only.
 *
 * @throws MeshError `CERTIFICATE_NAME_CONSTRAINT` (the issuer may not name this SPIFFE ID),
 *   `INVALID_IDENTIFIER` (not a citymesh SPIFFE ID), `MALFORMED_REQUEST` (CSR, its key
 *   algorithm, DNS name, profile or issuer unusable), `CERTIFICATE_EXPIRED` (issuer not
 *   valid at `now`); TypeError on a bad `profile`
 */
export async function issueSpiffeLeaf(options: IssueSpiffeLeafOptions): Promise<IssuedCertificate> {
  const now = requireDate(options.now, 'now');
  const profile = leafProfileOf(options.profile);
  const rules = LEAF_PROFILES[profile];
  const parsed = parseCertificateSpiffeUri(options.spiffeId, 'spiffeId');
  const id = parsed.id;
  if (id === null) {
    throw refuse(
      'MALFORMED_REQUEST',
      `spiffeId ${parsed.uri} names a trust domain; a leaf needs a workload path (X509-SVID §3.1)`,
      {
        field: 'spiffeId',
        rule: 'leaf-path',
      },
    );
  }
  const mismatch = kindProblem(profile, id.kind);
  if (mismatch !== null) {
    throw refuse('MALFORMED_REQUEST', `spiffeId ${id.uri} ${mismatch}`, { field: 'spiffeId', rule: 'leaf-profile' });
  }
  const dnsNames = checkDnsNames(options.dnsNames, 'dnsNames');
  if (dnsNames.length > 0 && !rules.dnsNames) {
    throw refuse('MALFORMED_REQUEST', `dnsNames must be empty in the ${profile} profile: it serves no TLS`, {
      field: 'dnsNames',
      rule: 'leaf-profile',
    });
  }
  const issuer = await loadIssuer(options.issuerCertPem, options.issuerKeys, now);
  checkIssuerConstraints(issuer, id.trustDomain, id.uri);
  const { publicKey, requestedUris } = await subjectKey(options, profile);
  checkRequestedUri(requestedUris, id.uri);
  const cn = `${id.kind}/${id.name}`;
  const subject: x509.JsonName = [
    { O: ['citymesh'] },
    { OU: [id.trustDomain] },
    ...(cn.length <= 64 ? [{ CN: [cn] }] : []),
  ];
  return sign(issuer, options, subject, publicKey, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([...rules.extKeyUsages], false),
    new x509.SubjectAlternativeNameExtension(
      [{ type: 'url', value: id.uri }, ...dnsNames.map((value) => ({ type: 'dns' as const, value }))],
      false,
    ),
  ]);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Issues the trust anchor's HTTPS server certificate, signed by the cluster root:
 * DNS and IP SANs (default `localhost` and `127.0.0.1`), EKU serverAuth only,
 * keyUsage digitalSignature, cA false. It carries no SPIFFE ID: joining nodes pin the
 * cluster root (from the join token) and check the host name as any HTTPS client does.
 *
 * @throws MeshError `MALFORMED_REQUEST` (bad DNS name or IP, CSR or issuer unusable),
 *   `CERTIFICATE_EXPIRED` (issuer not valid at `now`)
 */
export async function issueTlsServerCert(options: IssueTlsServerCertOptions): Promise<IssuedCertificate> {
  const now = requireDate(options.now, 'now');
  const subjectCn = options.subjectCn ?? 'citymesh trust anchor';
  if (typeof subjectCn !== 'string' || subjectCn.length === 0 || subjectCn.length > 64) {
    throw new TypeError('subjectCn must be a string of 1 to 64 characters');
  }
  const dnsNames = checkDnsNames(options.dnsNames ?? ['localhost'], 'dnsNames');
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1'];
  ipAddresses.forEach((ip, index) => {
    if (typeof ip !== 'string' || !IPV4.test(ip)) {
      throw refuse('MALFORMED_REQUEST', `ipAddresses[${index}] must be a dotted IPv4 address`, {
        field: `ipAddresses[${index}]`,
        rule: 'ip-address',
      });
    }
  });
  if (dnsNames.length + ipAddresses.length === 0)
    throw new TypeError('dnsNames and ipAddresses must not both be empty');
  const issuer = await loadIssuer(options.issuerCertPem, options.issuerKeys, now);
  const { publicKey } = await subjectKey(options);
  return sign(issuer, options, [{ O: ['citymesh'] }, { CN: [subjectCn] }], publicKey, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    new x509.SubjectAlternativeNameExtension(
      [
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ],
      false,
    ),
  ]);
}
