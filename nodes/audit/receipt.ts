import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import { parseSpiffeId } from '../../common/ids/index.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import { parseSequence, parseTime, requireDigest } from './claims.js';
import { formatInstant } from './instant.js';
import { requireStringMembers, signCanonical, verifyCanonical } from './signed-json.js';
import { type AuditSigner, RECEIPT_TYP } from './signer.js';

/** What a provider signs about one exchange it served. */
export interface ReceiptClaims {
  /** SPIFFE id of the provider node that served the call (the signer). */
  readonly providerNodeId: string;
  /** SPIFFE id of the node the provider answered. */
  readonly consumerNodeId: string;
  readonly correlationId: string;
  /** Full gRPC method name, `/citymesh.v1.DatasetService/FetchRecords`. */
  readonly method: string;
  /** Lower-case hex SHA-256 of the canonical request. */
  readonly requestHash: string;
  /** Lower-case hex SHA-256 of the canonical response without its receipt. */
  readonly responseDigest: string;
  /** The provider's audit entry recording the exchange. */
  readonly auditSequence: number;
  readonly issuedAt: Date;
}

const MEMBERS = [
  'auditSequence',
  'consumerNodeId',
  'correlationId',
  'issuedAt',
  'method',
  'providerNodeId',
  'requestHash',
  'responseDigest',
] as const;

/** The signed payload: the receipt's fields under their proto3 JSON names (uint64 as a decimal string). */
function receiptPayload(claims: ReceiptClaims): Record<string, string> {
  return {
    providerNodeId: claims.providerNodeId,
    consumerNodeId: claims.consumerNodeId,
    correlationId: claims.correlationId,
    method: claims.method,
    requestHash: claims.requestHash,
    responseDigest: claims.responseDigest,
    auditSequence: String(claims.auditSequence),
    issuedAt: formatInstant(claims.issuedAt),
  };
}

function invalid(message: string, rule: string, details: Record<string, string | number | null> = {}, cause?: unknown) {
  return new MeshError('RECEIPT_INVALID', message, { details: { rule, ...details }, ...(cause ? { cause } : {}) });
}

/**
 * Reads a receipt payload strictly: exactly the known members, SPIFFE ids (a node provider;
 * a node or same-city app consumer), hex digests,
 * a positive sequence, an RFC 3339 time.
 */
function parseReceiptPayload(payload: Record<string, unknown>, what: string): ReceiptClaims {
  const p = requireStringMembers(payload, MEMBERS, 'RECEIPT_INVALID', what);
  // The provider is always a node; the consumer is the node that forwarded the call, or
  // an app of the provider's own city calling its home node directly.
  const kinds = { providerNodeId: ['node'], consumerNodeId: ['node', 'app'] } as const;
  for (const member of ['providerNodeId', 'consumerNodeId'] as const) {
    try {
      if (!(kinds[member] as readonly string[]).includes(parseSpiffeId(p[member], member).kind)) {
        throw new Error(`not a ${kinds[member].join(' or ')}`);
      }
    } catch (cause) {
      throw invalid(
        `${what}: ${member} "${p[member]}" is not a ${kinds[member].join(' or ')} SPIFFE id`,
        'payload-members',
        { member },
        cause,
      );
    }
  }
  return {
    providerNodeId: p.providerNodeId as string,
    consumerNodeId: p.consumerNodeId as string,
    correlationId: p.correlationId as string,
    method: p.method as string,
    requestHash: requireDigest(p.requestHash as string, 'RECEIPT_INVALID', what, 'requestHash'),
    responseDigest: requireDigest(p.responseDigest as string, 'RECEIPT_INVALID', what, 'responseDigest'),
    auditSequence: parseSequence(p.auditSequence as string, 'RECEIPT_INVALID', what, 'auditSequence'),
    issuedAt: parseTime(p.issuedAt as string, 'RECEIPT_INVALID', what, 'issuedAt'),
  };
}

/**
 * Signs a receipt: a compact JWS, `typ` {@link RECEIPT_TYP}, over the RFC 8785 canonical
 * JSON of the claims.
 *
 * @throws MeshError `RECEIPT_INVALID` when the claims would not verify (bad ids, digests, sequence)
 */
export async function signReceipt(claims: ReceiptClaims, signer: AuditSigner): Promise<string> {
  const payload = receiptPayload(claims);
  parseReceiptPayload(payload, `receipt of ${claims.correlationId}`);
  return signCanonical(signer, RECEIPT_TYP, payload);
}

/** What the verifier of a receipt expects; each given member must equal the signed one. */
export interface ExpectedReceipt {
  /** Who received it: a receipt issued to another node is refused. */
  readonly consumerNodeId: string;
  readonly correlationId: string;
  /** Who should have signed it; its keys are `keys`. */
  readonly providerNodeId?: string;
  readonly method?: string;
  /** Recomputed by the consumer from the request it sent. */
  readonly requestHash?: string;
  /** Recomputed by the consumer from the response it received. */
  readonly responseDigest?: string;
}

/** Options of {@link verifyReceipt}. */
export interface VerifyReceiptOptions {
  /** The provider's keys, resolved through its city's trust chain, never from the token. */
  readonly keys: JwkSet;
  readonly now: Date;
  readonly expected: ExpectedReceipt;
  /** Clock skew tolerated on `issuedAt`, seconds; 60 by default. */
  readonly leewaySeconds?: number;
}

/** A receipt that verified: its claims and the key that signed it. */
export interface VerifiedReceipt {
  readonly claims: ReceiptClaims;
  readonly kid: string;
  readonly jws: string;
}

/**
 * Verifies a receipt: signature by one of the provider's keys, `typ` {@link RECEIPT_TYP},
 * `alg` within the pinned allowlist, canonical payload with exactly the receipt members,
 * then every expected value (consumer, correlation id, provider, method, request hash,
 * response digest) and `issuedAt` not in the future.
 *
 * @throws MeshError `RECEIPT_INVALID`; `details.rule` names the check (`signature`, `typ`,
 *   `alg-allowlist`, `kid-unknown`, `payload-canonical`, `payload-members`, `consumer`,
 *   `correlation-id`, `provider`, `method`, `request-hash`, `response-digest`, `issued-at-future`)
 */
export async function verifyReceipt(jws: unknown, options: VerifyReceiptOptions): Promise<VerifiedReceipt> {
  const { expected } = options;
  const what = `receipt of ${expected.correlationId}`;
  const { kid, payload } = await verifyCanonical(jws, {
    typ: RECEIPT_TYP,
    keys: options.keys,
    now: options.now,
    code: 'RECEIPT_INVALID',
    what,
  });
  const claims = parseReceiptPayload(payload, what);
  const checks: [keyof ExpectedReceipt, string, string][] = [
    ['consumerNodeId', 'consumer', 'was issued to'],
    ['correlationId', 'correlation-id', 'names correlation id'],
    ['providerNodeId', 'provider', 'was signed for provider'],
    ['method', 'method', 'names method'],
    ['requestHash', 'request-hash', 'has request hash'],
    ['responseDigest', 'response-digest', 'has response digest'],
  ];
  for (const [member, rule, says] of checks) {
    const want = expected[member];
    const got = claims[member];
    if (want !== undefined && want !== got) {
      throw invalid(`${what} ${says} ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`, rule, {
        member,
        expected: want,
        actual: got,
      });
    }
  }
  const leewayMs = (options.leewaySeconds ?? 60) * 1000;
  if (claims.issuedAt.getTime() > options.now.getTime() + leewayMs) {
    throw invalid(`${what} was issued in the future (${formatInstant(claims.issuedAt)})`, 'issued-at-future');
  }
  return { claims, kid, jws: jws as string };
}

/** True when `err` is a receipt failure (for callers that log and go on). */
export function isReceiptInvalid(err: unknown): err is MeshError {
  return isMeshError(err, 'RECEIPT_INVALID');
}
