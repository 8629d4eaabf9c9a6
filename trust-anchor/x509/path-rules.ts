import { extKeyUsageProblem, LEAF_PROFILES, type LeafProfile } from './leaf-profile.js';
import { describe, fail, type PathCert } from './path-cert.js';
import { OID } from './profile.js';
import { x509 } from './provider.js';
import { describeKeyAlgorithms, subjectKeyAlgorithmOf } from './subject-key.js';

/* The structural rules of path verification (steps 1, 2, 3, 5 and 6 of verifyCertificatePath). */

/** Extensions this verifier processes; any other one marked critical fails the path (RFC 5280 §4.2). */
const UNDERSTOOD_CRITICAL = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.nameConstraints,
]);

/** RFC 5280 §4.2: at most one instance of an extension; every critical one must be understood. */
export function checkExtensions(c: PathCert): void {
  const seen = new Set<string>();
  for (const ext of c.facts.extensions) {
    if (seen.has(ext.type)) {
      throw fail('CERTIFICATE_INVALID', c, 'duplicate-extension', `has extension ${ext.type} twice (RFC 5280 §4.2)`, {
        extension: ext.type,
      });
    }
    seen.add(ext.type);
    if (ext.critical && !UNDERSTOOD_CRITICAL.has(ext.type)) {
      throw fail(
        'CERTIFICATE_INVALID',
        c,
        'unknown-critical-extension',
        `has critical extension ${ext.type} that citymesh does not process`,
        {
          extension: ext.type,
        },
      );
    }
  }
}

/** Verifies `child`'s signature with `issuer`'s key (OpenSSL, via node:crypto) after checking the names chain. */
export function checkSignature(child: PathCert, issuer: PathCert): void {
  if (child.node.issuer !== issuer.node.subject) {
    throw fail(
      'CERTIFICATE_INVALID',
      child,
      'issuer-mismatch',
      `names issuer "${child.issuer}", not ${describe(issuer)}`,
    );
  }
  if (!child.node.verify(issuer.publicKey)) {
    throw fail(
      'CERTIFICATE_INVALID',
      child,
      'signature',
      `signature does not verify with the key of ${describe(issuer)}`,
    );
  }
}

export function findRoot(top: PathCert, roots: readonly PathCert[]): PathCert {
  const sameName = roots.filter((root) => root.node.subject === top.node.issuer);
  const root = sameName.find((candidate) => top.node.verify(candidate.publicKey));
  if (root !== undefined) return root;
  if (sameName.length > 0) {
    throw fail(
      'CERTIFICATE_INVALID',
      top,
      'signature',
      'signature does not verify with the key of any pinned root of that name',
    );
  }
  throw fail('CERTIFICATE_INVALID', top, 'untrusted-root', `was issued by "${top.issuer}", which is not a pinned root`);
}

export function checkValidity(c: PathCert, now: Date, leewayMs: number): void {
  const window = {
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    now: now.toISOString(),
  };
  if (now.getTime() + leewayMs < c.notBefore.getTime()) {
    throw fail(
      'CERTIFICATE_EXPIRED',
      c,
      'not-yet-valid',
      `is not valid before ${window.notBefore} (now ${window.now})`,
      window,
    );
  }
  if (now.getTime() - leewayMs > c.notAfter.getTime()) {
    throw fail('CERTIFICATE_EXPIRED', c, 'expired', `expired at ${window.notAfter} (now ${window.now})`, window);
  }
}

/**
 * RFC 5280 §6.1.4 (k), (l), (n): every issuer is a CA with keyCertSign, and no CA has
 * more intermediates below it than its pathLenConstraint allows. Checked from the leaf
 * upwards so the failure names the CA nearest the leaf.
 */
export function checkIssuers(issuers: readonly PathCert[]): void {
  issuers.forEach((ca, index) => {
    const bc = ca.facts.basicConstraints;
    if (bc === null || !bc.ca) {
      throw fail(
        'CERTIFICATE_INVALID',
        ca,
        'issuer-not-ca',
        'issued a certificate but is not a CA (basicConstraints cA is not true)',
      );
    }
    const ku = ca.facts.keyUsage;
    if (ku === null || (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      throw fail(
        'CERTIFICATE_INVALID',
        ca,
        'issuer-key-usage',
        'issued a certificate but its keyUsage lacks keyCertSign',
      );
    }
    // Intermediates below this CA: those at lower indexes (issuers[0] issued the leaf).
    const below = index;
    if (bc.pathLength !== undefined && below > bc.pathLength) {
      throw fail(
        'CERTIFICATE_INVALID',
        ca,
        'path-length',
        `allows ${bc.pathLength} intermediate(s) below it (pathLenConstraint) but the path has ${below}`,
        {
          pathLength: String(bc.pathLength),
        },
      );
    }
  });
}

/** X509-SVID §5.2 and §4.3/§4.4: the leaf is not a CA, signs, has its profile's TLS roles and key type. */
export function checkLeafProfile(leaf: PathCert, profile: LeafProfile): void {
  if (leaf.facts.basicConstraints?.ca === true) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-is-ca',
      'is a CA certificate (basicConstraints cA true) and cannot authenticate a peer',
    );
  }
  const ku = leaf.facts.keyUsage;
  if (ku === null || !ku.critical) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-key-usage',
      'must have a critical keyUsage extension (X509-SVID §4.3)',
    );
  }
  if ((ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !== 0) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-is-ca',
      'has keyCertSign or cRLSign, which a leaf must not (X509-SVID §5.2)',
    );
  }
  if ((ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    throw fail('CERTIFICATE_INVALID', leaf, 'leaf-key-usage', 'lacks digitalSignature in keyUsage (X509-SVID §4.3)');
  }
  const ekuProblem = extKeyUsageProblem(profile, leaf.facts.extKeyUsage);
  if (ekuProblem !== null) throw fail('CERTIFICATE_INVALID', leaf, 'leaf-extended-key-usage', ekuProblem);
  const allowed = LEAF_PROFILES[profile].keyAlgorithms;
  const algorithm = subjectKeyAlgorithmOf(leaf.publicKey);
  if (algorithm === undefined || !allowed.includes(algorithm)) {
    throw fail(
      'CERTIFICATE_INVALID',
      leaf,
      'leaf-key-algorithm',
      `must certify ${describeKeyAlgorithms(allowed)} (${profile} profile), not a ${leaf.publicKey.asymmetricKeyType} key`,
    );
  }
}
