import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * One row per `ErrorReason` value of proto/citymesh/v1/errors.proto: the canonical gRPC
 * status it maps to and the summary shown to callers. A drift test keeps this table,
 * the proto enum and docs/errors.md identical.
 */
// biome-ignore format: one row per reason reads as the table it is
export const ERROR_REGISTRY = {
  MALFORMED_REQUEST: { reason: 1, status: GrpcStatus.INVALID_ARGUMENT, summary: 'a field is missing or breaks its rule' },
  INVALID_IDENTIFIER: { reason: 2, status: GrpcStatus.INVALID_ARGUMENT, summary: 'an identifier does not parse' },
  INVALID_REGION_CODE: { reason: 3, status: GrpcStatus.INVALID_ARGUMENT, summary: 'a region code is not a valid administrative code' },
  INVALID_CONFIG: { reason: 4, status: GrpcStatus.INVALID_ARGUMENT, summary: 'a configuration file breaks its schema' },
  INVALID_PAGE_TOKEN: { reason: 5, status: GrpcStatus.INVALID_ARGUMENT, summary: 'the page token was not issued for this query' },
  SCHEMA_VIOLATION: { reason: 6, status: GrpcStatus.INVALID_ARGUMENT, summary: 'a record does not fit its schema' },
  POLICY_INVALID: { reason: 7, status: GrpcStatus.INVALID_ARGUMENT, summary: 'a policy file is invalid' },
  MANIFEST_INVALID: { reason: 8, status: GrpcStatus.INVALID_ARGUMENT, summary: 'a manifest breaks its schema' },

  CREDENTIALS_MISSING: { reason: 20, status: GrpcStatus.UNAUTHENTICATED, summary: 'no credentials were presented' },
  TOKEN_MALFORMED: { reason: 21, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token is not a well-formed JWT' },
  TOKEN_SIGNATURE_INVALID: { reason: 22, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token signature does not verify' },
  TOKEN_ALG_NOT_ALLOWED: { reason: 23, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token algorithm is not allowed' },
  TOKEN_KEY_UNKNOWN: { reason: 24, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token key id is not trusted' },
  TOKEN_HEADER_INJECTION: { reason: 25, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token tries to supply its own key' },
  TOKEN_TYPE_MISMATCH: { reason: 26, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token type is wrong for this use' },
  TOKEN_EXPIRED: { reason: 27, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token has expired' },
  TOKEN_NOT_YET_VALID: { reason: 28, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token is not valid yet' },
  TOKEN_REPLAYED: { reason: 29, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token was already used' },
  TOKEN_AUDIENCE_MISMATCH: { reason: 30, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token is for another audience' },
  TOKEN_ISSUER_MISMATCH: { reason: 31, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token issuer is not the expected one' },
  TOKEN_CRIT_UNSUPPORTED: { reason: 32, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token has an unsupported critical header' },
  TOKEN_TOO_LARGE: { reason: 33, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token is too large' },
  TOKEN_LIFETIME_EXCEEDED: { reason: 34, status: GrpcStatus.UNAUTHENTICATED, summary: 'the token lives longer than its profile allows' },

  CERTIFICATE_INVALID: { reason: 40, status: GrpcStatus.UNAUTHENTICATED, summary: 'the certificate does not chain to the cluster CA' },
  CERTIFICATE_EXPIRED: { reason: 41, status: GrpcStatus.UNAUTHENTICATED, summary: 'the certificate is outside its validity window' },
  CERTIFICATE_NAME_CONSTRAINT: { reason: 42, status: GrpcStatus.UNAUTHENTICATED, summary: "the certificate names an identity outside its issuer's trust domain" },
  CERTIFICATE_SPIFFE_ID_INVALID: { reason: 43, status: GrpcStatus.UNAUTHENTICATED, summary: 'the certificate does not carry exactly one valid SPIFFE ID' },
  PEER_IDENTITY_MISMATCH: { reason: 44, status: GrpcStatus.UNAUTHENTICATED, summary: 'the peer is not who it claims to be' },

  STATEMENT_SUBJECT_MISMATCH: { reason: 60, status: GrpcStatus.UNAUTHENTICATED, summary: 'the statement is about another entity than the one fetched' },
  TRUST_CHAIN_INVALID: { reason: 61, status: GrpcStatus.UNAUTHENTICATED, summary: 'the trust chain does not reach a pinned anchor' },
  TRUST_CHAIN_TOO_LONG: { reason: 62, status: GrpcStatus.UNAUTHENTICATED, summary: 'the trust chain is longer than allowed' },
  TRUST_CONSTRAINT_VIOLATED: { reason: 63, status: GrpcStatus.UNAUTHENTICATED, summary: 'the trust chain breaks a constraint' },
  METADATA_EXPIRED: { reason: 64, status: GrpcStatus.FAILED_PRECONDITION, summary: 'the cluster metadata has expired' },
  METADATA_ROLLBACK: { reason: 65, status: GrpcStatus.FAILED_PRECONDITION, summary: 'the cluster metadata is older than the accepted version' },
  CITY_REVOKED: { reason: 66, status: GrpcStatus.PERMISSION_DENIED, summary: 'the city is revoked' },
  NODE_REVOKED: { reason: 67, status: GrpcStatus.PERMISSION_DENIED, summary: 'the node is revoked' },
  KEY_REVOKED: { reason: 68, status: GrpcStatus.UNAUTHENTICATED, summary: 'the signing key is revoked' },
  NOT_A_MEMBER: { reason: 69, status: GrpcStatus.PERMISSION_DENIED, summary: 'the entity is not a member of this cluster' },
  JOIN_TOKEN_INVALID: { reason: 70, status: GrpcStatus.UNAUTHENTICATED, summary: 'the join token is not valid' },
  JOIN_TOKEN_EXPIRED: { reason: 71, status: GrpcStatus.UNAUTHENTICATED, summary: 'the join token has expired' },
  JOIN_TOKEN_USED: { reason: 72, status: GrpcStatus.UNAUTHENTICATED, summary: 'the join token was already used' },
  JOIN_TOKEN_WRONG_CITY: { reason: 73, status: GrpcStatus.PERMISSION_DENIED, summary: 'the join token was issued for another city' },
  ROLLOVER_TOO_EARLY: { reason: 74, status: GrpcStatus.FAILED_PRECONDITION, summary: 'the key rollover overlap has not passed yet' },

  DEVICE_SUSPENDED: { reason: 80, status: GrpcStatus.PERMISSION_DENIED, summary: 'the device is suspended' },
  DEVICE_REVOKED: { reason: 81, status: GrpcStatus.PERMISSION_DENIED, summary: 'the device is revoked' },
  DEVICE_WRONG_CITY: { reason: 82, status: GrpcStatus.PERMISSION_DENIED, summary: 'the device belongs to another city' },

  POLICY_DENIED: { reason: 100, status: GrpcStatus.PERMISSION_DENIED, summary: "the providing city's policy denies the request" },
  CLASSIFICATION_EXCEEDED: { reason: 101, status: GrpcStatus.PERMISSION_DENIED, summary: 'the classification is above what the grant allows' },
  AGREEMENT_REQUIRED: { reason: 102, status: GrpcStatus.PERMISSION_DENIED, summary: 'a live access agreement is required' },
  PURPOSE_REQUIRED: { reason: 103, status: GrpcStatus.PERMISSION_DENIED, summary: 'the request must declare an accepted purpose' },
  ROLE_REQUIRED: { reason: 104, status: GrpcStatus.PERMISSION_DENIED, summary: 'the caller lacks the role this call needs' },

  DATASET_NOT_FOUND: { reason: 120, status: GrpcStatus.NOT_FOUND, summary: 'no such dataset' },
  CAPABILITY_NOT_FOUND: { reason: 121, status: GrpcStatus.NOT_FOUND, summary: 'no such capability' },
  DEVICE_NOT_FOUND: { reason: 122, status: GrpcStatus.NOT_FOUND, summary: 'no such device' },
  AGREEMENT_NOT_FOUND: { reason: 123, status: GrpcStatus.NOT_FOUND, summary: 'no such agreement' },
  MEMBER_NOT_FOUND: { reason: 124, status: GrpcStatus.NOT_FOUND, summary: 'no such city, node or member' },
  POLICY_VERSION_NOT_FOUND: { reason: 125, status: GrpcStatus.NOT_FOUND, summary: 'no such policy version' },
  KEY_NOT_FOUND: { reason: 126, status: GrpcStatus.NOT_FOUND, summary: 'no such key' },
  ALREADY_EXISTS: { reason: 127, status: GrpcStatus.ALREADY_EXISTS, summary: 'it already exists with different content' },
  AGREEMENT_STATE_INVALID: { reason: 128, status: GrpcStatus.FAILED_PRECONDITION, summary: "the agreement's state does not allow this" },
  VERSION_CONFLICT: { reason: 129, status: GrpcStatus.ABORTED, summary: 'a concurrent change won; read again and retry' },
  AUDIT_ENTRY_NOT_FOUND: { reason: 130, status: GrpcStatus.NOT_FOUND, summary: 'no audit entry at that sequence number' },

  AUDIT_CHAIN_BROKEN: { reason: 140, status: GrpcStatus.DATA_LOSS, summary: 'the audit hash chain does not verify' },
  AUDIT_CHECKPOINT_INVALID: { reason: 141, status: GrpcStatus.DATA_LOSS, summary: 'an audit checkpoint signature does not verify' },
  RECEIPT_INVALID: { reason: 142, status: GrpcStatus.FAILED_PRECONDITION, summary: 'the receipt does not verify' },
  AUDIT_MISMATCH: { reason: 143, status: GrpcStatus.FAILED_PRECONDITION, summary: 'consumer and provider evidence disagree' },
  STORE_CORRUPTED: { reason: 144, status: GrpcStatus.DATA_LOSS, summary: 'stored data fails its integrity checks' },
  STORE_SCHEMA_TOO_NEW: { reason: 145, status: GrpcStatus.FAILED_PRECONDITION, summary: 'the store was written by a newer citymesh' },

  PEER_UNAVAILABLE: { reason: 160, status: GrpcStatus.UNAVAILABLE, summary: "the peer city's node did not answer" },
  ANCHOR_UNAVAILABLE: { reason: 161, status: GrpcStatus.UNAVAILABLE, summary: 'the trust anchor did not answer' },
  RATE_LIMITED: { reason: 162, status: GrpcStatus.RESOURCE_EXHAUSTED, summary: 'too many requests' },
  NOT_IMPLEMENTED: { reason: 163, status: GrpcStatus.UNIMPLEMENTED, summary: 'this node does not implement the call' },
  INTERNAL: { reason: 164, status: GrpcStatus.INTERNAL, summary: 'internal error' },
} as const satisfies Record<string, { reason: number; status: GrpcStatus; summary: string }>;

/** A stable failure code: an `ErrorReason` name without the `ERROR_REASON_` prefix. */
export type ErrorCode = keyof typeof ERROR_REGISTRY;

/** All codes in registry order. */
export const ERROR_CODES = Object.keys(ERROR_REGISTRY) as ErrorCode[];
