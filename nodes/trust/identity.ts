/** Who this node is, written by `node join` to `identity.json`. */
export interface NodeIdentity {
  readonly cluster: string;
  readonly city: string;
  readonly nodeName: string;
  readonly spiffeId: string;
  /** The city's federation entity id. */
  readonly entityId: string;
  readonly grpcEndpoint: string;
  readonly anchorUrl: string;
  readonly anchorEntityId: string;
  readonly joinedAt: string;
}
