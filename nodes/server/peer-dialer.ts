import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { AgreementServiceClient } from '../../proto/gen/citymesh/v1/agreement_service.js';
import { CapabilityServiceClient } from '../../proto/gen/citymesh/v1/capability_service.js';
import { CatalogServiceClient } from '../../proto/gen/citymesh/v1/catalog_service.js';
import { DatasetServiceClient } from '../../proto/gen/citymesh/v1/dataset_service.js';
import { PolicyServiceClient } from '../../proto/gen/citymesh/v1/policy_service.js';
import {
  assertNotRevoked,
  type ClusterMetadataClaims,
  type ClusterNode,
  findMember,
} from '../../trust-anchor/index.js';
import { peerChainOf } from '../exchange/grpc-peer.js';
import { authenticatePeer } from '../exchange/peer-auth.js';
import type { TrustState } from '../trust/trust-state.js';
import type { NodeTlsIdentity } from './tls-identity.js';

/** The gRPC clients of one peer node, sharing one channel. */
export interface PeerClients {
  readonly node: ClusterNode;
  readonly city: string;
  readonly datasets: DatasetServiceClient;
  readonly catalog: CatalogServiceClient;
  readonly capabilities: CapabilityServiceClient;
  readonly agreements: AgreementServiceClient;
  readonly policy: PolicyServiceClient;
}

/**
 * Dials peer nodes over mTLS with the node's own SVID. The server a channel reaches is
 * held to the same checks a client is (`authenticatePeer`: current city CA, member,
 * not revoked) and must carry exactly the SPIFFE ID the metadata lists for the endpoint.
 */
export class PeerDialer {
  readonly #tls: NodeTlsIdentity;
  readonly #trust: TrustState;
  readonly #clock: Clock;
  readonly #peers = new Map<string, PeerClients>();

  constructor(tls: NodeTlsIdentity, trust: TrustState, clock: Clock) {
    this.#tls = tls;
    this.#trust = trust;
    this.#clock = clock;
  }

  /** Clients for a node of `city` that is listed and not revoked. */
  forCity(city: string): PeerClients {
    const metadata = this.#trust.metadata;
    const member = findMember(metadata, city);
    // Checked per call: a channel opened before the revocation passed its handshake checks
    // then and would otherwise go on serving (and being served by) the revoked city.
    assertNotRevoked(metadata, { city });
    const revoked = new Set(metadata.revocations.filter((r) => r.kind === 'node').map((r) => r.id));
    const node = member.nodes.find((n) => !revoked.has(n.spiffe_id));
    if (node === undefined) {
      throw new MeshError('PEER_UNAVAILABLE', `city ${city} has no node that is not revoked`, { details: { city } });
    }
    return this.forNode(city, node);
  }

  forNode(city: string, node: ClusterNode): PeerClients {
    const known = this.#peers.get(node.spiffe_id);
    if (known !== undefined && known.node.grpc_endpoint === node.grpc_endpoint) return known;
    known?.datasets.close();
    const credentials = grpc.experimental.createCertificateProviderChannelCredentials(this.#tls, this.#tls, {
      checkServerIdentity: (_host, cert) => this.#checkServer(node.spiffe_id, cert),
    });
    const channel = new grpc.Channel(node.grpc_endpoint, credentials, {});
    const options = { channelOverride: channel };
    const clients: PeerClients = {
      node,
      city,
      datasets: new DatasetServiceClient(node.grpc_endpoint, credentials, options),
      catalog: new CatalogServiceClient(node.grpc_endpoint, credentials, options),
      capabilities: new CapabilityServiceClient(node.grpc_endpoint, credentials, options),
      agreements: new AgreementServiceClient(node.grpc_endpoint, credentials, options),
      policy: new PolicyServiceClient(node.grpc_endpoint, credentials, options),
    };
    this.#peers.set(node.spiffe_id, clients);
    return clients;
  }

  close(): void {
    for (const peer of this.#peers.values()) peer.datasets.close();
    this.#peers.clear();
  }

  #checkServer(
    expected: string,
    cert: Parameters<NonNullable<grpc.VerifyOptions['checkServerIdentity']>>[1],
  ): Error | undefined {
    try {
      const metadata: ClusterMetadataClaims = this.#trust.metadata;
      const peer = authenticatePeer(peerChainOf({ sslPeerCertificate: cert }), {
        metadata,
        rootPem: this.#tls.rootPem,
        now: this.#clock.now(),
      });
      if (peer.spiffeId !== expected) {
        return new MeshError('PEER_IDENTITY_MISMATCH', `the server is ${peer.spiffeId}, not ${expected}`, {});
      }
      return undefined;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }
}
