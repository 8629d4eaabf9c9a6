import type { PeerCertificate } from 'node:tls';

/** The part of grpc-js's `call.getAuthContext()` this reads (its `AuthContext` type is not exported). */
export interface PeerAuthContext {
  readonly sslPeerCertificate?: Partial<Pick<PeerCertificate, 'raw'>> & {
    readonly issuerCertificate?: PeerAuthContext['sslPeerCertificate'];
  };
}

/** Most certificates read from one auth context: a leaf, two intermediates and a root. */
const MAX_CERTIFICATES = 4;

/**
 * The client certificate chain of a grpc-js call, leaf first, as DER, for
 * `authenticatePeer`. Empty when the peer sent no certificate (or the transport is not
 * TLS). grpc-js reads `getPeerCertificate()` without `detailed`, so today this is the
 * leaf alone and the intermediate comes from the metadata; should it ever give the
 * detailed form, the `issuerCertificate` links are followed, stopping at a self-reference.
 */
export function peerChainOf(context: PeerAuthContext | undefined): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<unknown>();
  for (
    let cert = context?.sslPeerCertificate;
    cert !== undefined && !seen.has(cert) && chain.length < MAX_CERTIFICATES;
    cert = cert.issuerCertificate
  ) {
    seen.add(cert);
    if (!(cert.raw instanceof Uint8Array) || cert.raw.length === 0) break;
    chain.push(cert.raw);
  }
  return chain;
}

/** The chain of a grpc-js server call (`call.getAuthContext()`), for `authenticatePeer`. */
export function peerChainOfCall(call: { getAuthContext(): PeerAuthContext }): Uint8Array[] {
  return peerChainOf(call.getAuthContext());
}
