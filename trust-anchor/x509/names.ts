import { MeshError } from '../../common/errors/mesh-error.js';
import {
  parseSpiffeId,
  parseSpiffeUri,
  parseTrustDomain,
  type SpiffeId,
  type TrustDomain,
} from '../../common/ids/index.js';

/** A SPIFFE URI as it may appear in a citymesh certificate or CSR. */
export interface CertificateSpiffeUri {
  readonly uri: string;
  readonly trustDomain: TrustDomain;
  /** The workload identity for a leaf; `null` for a trust domain's own ID (`spiffe://<td>`, a CA). */
  readonly id: SpiffeId | null;
}

/**
 * Parses a SPIFFE URI found in a certificate: either a citymesh workload ID
 * (`spiffe://<city>.<cluster>.citymesh/<kind>/<name>`, leaves) or a trust domain's own ID
 * (`spiffe://<city>.<cluster>.citymesh`, which X509-SVID §3.2 lets a signing certificate carry).
 * The rules are those of `common/ids`; this only chooses which parser applies.
 *
 * @throws MeshError `INVALID_IDENTIFIER` from `common/ids`
 */
export function parseCertificateSpiffeUri(input: unknown, field: string): CertificateSpiffeUri {
  const { segments, trustDomain, uri } = parseSpiffeUri(input, field);
  if (segments.length === 0) {
    return Object.freeze({ uri, trustDomain: parseTrustDomain(trustDomain, `${field}.trustDomain`), id: null });
  }
  const id = parseSpiffeId(uri, field);
  return Object.freeze({ uri, trustDomain: parseTrustDomain(id.trustDomain, `${field}.trustDomain`), id });
}

/** RFC 1034/1123 host name: LDH labels of 1–63 characters, at most 253 in all; no wildcard. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Checks DNS names requested for a certificate's SAN. Lowercase only, so what is signed
 * is what is compared. Wildcards are refused: one node certificate names one host.
 *
 * @throws MeshError `MALFORMED_REQUEST` (rule `dns-name`)
 */
export function checkDnsNames(names: readonly unknown[] | undefined, field: string): readonly string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw new TypeError(`${field} must be an array of DNS names`);
  const seen = new Set<string>();
  names.forEach((name, index) => {
    const ok =
      typeof name === 'string' && name.length <= 253 && name.split('.').every((label) => DNS_LABEL.test(label));
    if (!ok) {
      throw new MeshError(
        'MALFORMED_REQUEST',
        `${field}[${index}] must be a lowercase DNS host name without wildcard`,
        {
          details: {
            field: `${field}[${index}]`,
            rule: 'dns-name',
            value: typeof name === 'string' ? name.slice(0, 256) : typeof name,
          },
        },
      );
    }
    seen.add(name);
  });
  return [...seen];
}
