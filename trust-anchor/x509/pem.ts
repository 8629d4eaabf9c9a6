import { MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import { x509 } from './provider.js';

/** PEM labels of RFC 7468 used by this folder. */
export const PEM_LABEL = {
  certificate: 'CERTIFICATE',
  csr: 'CERTIFICATE REQUEST',
  privateKey: 'PRIVATE KEY',
  publicKey: 'PUBLIC KEY',
} as const;

/** One of {@link PEM_LABEL}. */
export type PemLabel = (typeof PEM_LABEL)[keyof typeof PEM_LABEL];

/** Where a PEM came from, for the error thrown when it does not decode. */
export interface PemSource {
  /** The option or certificate being decoded, e.g. `csrPem` or `leaf`. */
  readonly field: string;
  readonly code: ErrorCode;
  /** Extra details merged into the error (e.g. `certificate: 'leaf'`). */
  readonly details?: Readonly<Record<string, string>>;
}

/**
 * Decodes a PEM text that must hold exactly one block with the given label (RFC 7468).
 * A bundle of several blocks is refused: Node's `X509Certificate` would silently take
 * the first one, and a verifier must never look at a different certificate than its caller.
 */
export function decodeSinglePem(pem: unknown, label: PemLabel, source: PemSource): Uint8Array {
  const fail = (rule: string, what: string) =>
    new MeshError(source.code, `${source.field} ${what}`, {
      details: { field: source.field, rule, ...source.details },
    });
  if (typeof pem !== 'string') throw fail('pem', `must be a PEM string, got ${typeof pem}`);
  let blocks: x509.PemStruct[];
  try {
    blocks = x509.PemConverter.decodeWithHeaders(pem);
  } catch (cause) {
    throw new MeshError(source.code, `${source.field} is not valid PEM`, {
      details: { field: source.field, rule: 'pem', ...source.details },
      cause,
    });
  }
  if (blocks.length !== 1) throw fail('pem', `must hold exactly one PEM block, found ${blocks.length}`);
  const [block] = blocks as [x509.PemStruct];
  if (block.type !== label) throw fail('pem', `must be a "${label}" PEM block, found "${block.type}"`);
  return new Uint8Array(block.rawData);
}

/**
 * True when `der` is exactly one SEQUENCE whose definite, minimally encoded length
 * covers every byte (X.690 §10.1). The ASN.1 decoder of @peculiar/x509 tolerates an outer
 * length that disagrees with the data; a strict reader must not, or two byte strings
 * would decode to one request.
 */
export function isSingleDerSequence(der: Uint8Array): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1]!;
  if (first < 0x80) return 2 + first === der.length;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || der[2] === 0 || der.length < 2 + octets) return false;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + der[2 + i]!;
  // Long form only when the short form cannot hold the length.
  if (length < 0x80) return false;
  return 2 + octets + length === der.length;
}

/** Encodes DER bytes as one PEM block with the given label. */
export function encodePem(der: ArrayBuffer | Uint8Array, label: PemLabel): string {
  return `${x509.PemConverter.encode(der, label)}\n`;
}

/**
 * Turns a DER certificate (e.g. `PeerCertificate.raw` from `tls` or grpc-js's
 * `getAuthContext().sslPeerCertificate.raw`) into the PEM that the verifier takes.
 */
export function certificatePemFromDer(der: ArrayBuffer | Uint8Array): string {
  return encodePem(der, PEM_LABEL.certificate);
}
