/**
 * X.509 for citymesh: cluster root and city CAs, X509-SVID leaves, CSRs, and the pure
 * path verifier nodes run on peer certificates. Every function takes `now` and data;
 * nothing reads the clock, the disk or the network. Signing is WebCrypto through
 * @peculiar/x509; verification of signatures is OpenSSL through node:crypto.
 *
 * @packageDocumentation
 */
export { type CreateClusterRootCaOptions, clusterUriConstraint, createClusterRootCa, rootCommonName } from './ca.js';
export { checkCityCa } from './city-ca-check.js';
export { type CreateCsrOptions, createCsr, type ParseCsrOptions, type ParsedCsr, parseCsr } from './csr.js';
export {
  type IssueCityIntermediateCaOptions,
  type IssuerOptions,
  type IssueSpiffeLeafOptions,
  type IssueTlsServerCertOptions,
  issueCityIntermediateCa,
  issueSpiffeLeaf,
  issueTlsServerCert,
  type SubjectKeySource,
} from './issue.js';
export {
  type EcKeyPair,
  exportPrivateKeyPem,
  exportPublicJwk,
  exportPublicKeyPem,
  generateEcKeyPair,
  importPrivateKeyPem,
  importPublicKeyPem,
  keyIdOf,
  type PublicEcJwk,
} from './keys.js';
export { LEAF_PROFILES, type LeafProfile } from './leaf-profile.js';
export { certificatePemFromDer } from './pem.js';
export { DEFAULT_LEEWAY_SECONDS, type IssuedCertificate, NOT_BEFORE_BACKDATE_SECONDS } from './profile.js';
export type { CryptoKey } from './provider.js';
export { canonicalSerial, SERIAL_BYTES } from './serial.js';
export type { SubjectKeyAlgorithm } from './subject-key.js';
export {
  type CertificateRole,
  MAX_INTERMEDIATES,
  type VerifiedCertificatePath,
  type VerifyCertificatePathOptions,
  verifyCertificatePath,
} from './verify-path.js';
