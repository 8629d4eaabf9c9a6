import { hash, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { canonicalizeFast } from '../../common/canonical-json.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { getCity, parseResourceId, parseSpiffeId, type RegionLevel } from '../../common/ids/index.js';
import type { Agreement, CatalogEntry, Classification } from '../../common/stores/index.js';
import type { Receipt } from '../../proto/gen/citymesh/v1/common.js';
import { findMember } from '../../trust-anchor/index.js';
import { isLiveAgreement } from '../agreements/agreement-rules.js';
import type { AuditLog, ExchangeAudit } from '../audit/index.js';
import {
  type ExchangeGrantClaims,
  type ExchangeGrantSigner,
  type GrantAction,
  issueExchangeGrant,
  type ReplayCache,
  verifyExchangeGrant,
} from '../exchange/index.js';
import type { PolicyAction, SubjectAttributes, SubjectKind } from '../policy/engine/index.js';
import type { NodePolicy } from '../policy/node-policy.js';
import type { Caller } from './caller.js';
import type { NodeContext } from './node-runtime.js';
import type { PeerClients } from './peer-dialer.js';

export const CORRELATION_HEADER = 'citymesh-correlation-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The subject an exchange is for: the attributes policy decides on, and who presented it. */
export interface ExchangeSubject extends SubjectAttributes {
  /** The node that presented the call (the consumer side of the evidence). */
  readonly consumerNodeId: string;
  readonly grantMaxClassification?: Classification;
}

/** A request the provider side has authorized. */
export interface AuthorizedExchange {
  readonly subject: ExchangeSubject;
  readonly entry: CatalogEntry;
  readonly correlationId: string;
  readonly policyVersion: string;
  /** Settles once the allowed decision's audit entry is durable (or failed). */
  readonly decisionRecorded: Promise<void>;
}

/** What the services share for both sides of an exchange. */
export interface ExchangeDeps {
  readonly context: NodeContext;
  readonly audit: AuditLog;
  readonly evidence: ExchangeAudit;
  readonly policy: NodePolicy;
  readonly grants: ExchangeGrantSigner;
  readonly replay: ReplayCache;
}

/** Lower-case hex SHA-256 of a value's RFC 8785 canonical JSON: the digest receipts carry. */
export function sha256Hex(value: unknown): string {
  // One-shot hash of the canonical text (hashed as UTF-8): no Hash object, no byte copy.
  return hash('sha256', canonicalizeFast(value), 'hex');
}

/** The hash of a request as both sides compute it: over its canonical proto3 JSON. */
export function requestHash(json: unknown): string {
  return sha256Hex(json);
}

/** The city owning a dataset or capability id. */
export function ownerCity(id: string): string {
  return parseResourceId(id, 'id').city;
}

/**
 * Provider side: who is asking (an app of this city, or a peer node carrying an exchange
 * grant for exactly this resource and action), whether the dataset exists, whether a
 * cited agreement is live and this consumer's, and what policy says. Every decision is
 * audited before anything is served.
 */
export async function authorizeExchange(
  deps: ExchangeDeps,
  call: { metadata: grpc.Metadata },
  caller: Caller,
  input: { resource: string; action: PolicyAction; purpose: string; agreementId: string; method: string },
): Promise<AuthorizedExchange> {
  const { context } = deps;
  const entry = await catalogEntry(deps, input.resource);
  const { subject, correlationId } = await identifyExchange(deps, call, caller, {
    resource: input.resource,
    action: input.action as GrantAction,
    purpose: input.purpose,
  });
  if (entry === undefined || ownerCity(entry.id) !== context.identity.city) {
    throw new MeshError('DATASET_NOT_FOUND', `${input.resource} is not published by ${context.identity.city}`, {
      details: { field: 'id' },
    });
  }
  const agreement = input.agreementId === '' ? undefined : await liveAgreement(deps, input.agreementId, subject, entry);
  const decision = deps.policy.decide({
    subject,
    action: input.action,
    purpose: input.purpose,
    entry,
    ...(subject.grantMaxClassification ? { grantMaxClassification: subject.grantMaxClassification } : {}),
    ...(agreement ? { agreement } : {}),
  });
  const recorded = deps.audit.append({
    kind: decision.allowed ? 'decision.allowed' : 'decision.denied',
    actor: subject.id,
    correlationId,
    payload: {
      method: input.method,
      resource: entry.id,
      action: input.action,
      purpose: input.purpose,
      subjectCity: subject.city,
      industry: subject.industry,
      level: subject.level,
      consumerNodeId: subject.consumerNodeId,
      rule: decision.rule,
      policyVersion: decision.policyVersion,
      ...(decision.code ? { reason: decision.code } : {}),
    },
  });
  if (!decision.allowed) {
    await recorded;
    throw new MeshError(decision.code ?? 'POLICY_DENIED', decision.reason, { details: { rule: decision.rule } });
  }
  // An allowed decision is not waited for here: the served entry comes after it in the
  // chain, and the receipt is only sent once both are durable (`serveReceipt`). Reading
  // the data meanwhile overlaps the fsync instead of queueing behind it.
  recorded.catch(() => undefined);
  return {
    subject,
    entry,
    correlationId,
    policyVersion: decision.policyVersion,
    decisionRecorded: recorded.then(() => undefined),
  };
}

/**
 * Who an exchange is for and under which correlation id: a peer node's grant for exactly
 * this resource, action and purpose (its subject, its correlation header), or this city's
 * app (its token's subject, when it came with one) under a fresh id.
 */
export async function identifyExchange(
  deps: ExchangeDeps,
  call: { metadata: grpc.Metadata },
  caller: Caller,
  expect: { resource: string; action: GrantAction; purpose: string },
): Promise<{ subject: ExchangeSubject; correlationId: string }> {
  if (caller.kind === 'node') {
    const claims = await verifyGrantFor(deps, call, caller, expect);
    return {
      subject: delegatedSubject(claims, caller.peer.spiffeId, claims.max_classification),
      correlationId: correlationOf(call),
    };
  }
  if (caller.kind === 'visitor') {
    // A peer access token is good for exactly the exchange its home city authorised (identity.md §8.2).
    const { claims } = caller;
    requireAuthorisedExchange(claims.exchange, expect, 'peer token');
    return {
      subject: delegatedSubject(claims, caller.spiffeId, claims.exchange.max_classification),
      correlationId: randomUUID(),
    };
  }
  const id = caller.subject ?? caller.spiffeId;
  return {
    subject: {
      kind: subjectKindOf(id),
      id,
      city: deps.context.identity.city,
      industry: caller.app.industry,
      level: caller.app.level,
      region: caller.app.regionCode,
      org: caller.app.org,
      roles: caller.app.roles,
      consumerNodeId: caller.spiffeId,
    },
    correlationId: randomUUID(),
  };
}

/**
 * The subject a home city vouches for, in an exchange grant or a peer access token: its
 * attributes, with `presentedBy` (the forwarding node, or the visiting app itself) standing
 * on the consumer side of the evidence.
 */
function delegatedSubject(
  claims: { sub: string; city: string; industry: string; level: RegionLevel; region?: string | undefined },
  presentedBy: string,
  max: Classification | undefined,
): ExchangeSubject {
  return {
    kind: subjectKindOf(claims.sub),
    id: claims.sub,
    city: claims.city,
    industry: claims.industry,
    level: claims.level,
    region: claims.region ?? cityRegion(claims.city),
    roles: [],
    consumerNodeId: presentedBy,
    ...(max ? { grantMaxClassification: max } : {}),
  };
}

/** The request must be the one the home city authorised: same resource, action and (when given) purpose. */
function requireAuthorisedExchange(
  granted: { resource: string; action: GrantAction; purpose: string },
  expect: { resource: string; action: GrantAction; purpose?: string },
  what: 'grant' | 'peer token',
): void {
  if (granted.resource !== expect.resource || granted.action !== expect.action) {
    throw new MeshError(
      'TOKEN_AUDIENCE_MISMATCH',
      `the ${what} is for ${granted.action} on ${granted.resource}, not ${expect.action} on ${expect.resource}`,
      { details: { rule: 'grant-request' } },
    );
  }
  if (expect.purpose !== undefined && granted.purpose !== expect.purpose) {
    throw new MeshError('TOKEN_AUDIENCE_MISMATCH', `the ${what} was issued for another purpose`, {
      details: { rule: 'grant-purpose' },
    });
  }
}

/**
 * What kind of subject an id names: a SPIFFE id says so itself (an app, a device, a
 * node); anything else is a person's `sub` at a city provider.
 */
export function subjectKindOf(id: string): SubjectKind {
  if (!id.startsWith('spiffe://')) return 'person';
  try {
    return parseSpiffeId(id, 'sub').kind;
  } catch {
    return 'person';
  }
}

/** The region a city's subjects act for when their credentials name none: the city's own. */
function cityRegion(city: string): string {
  try {
    return getCity(city).region;
  } catch {
    // Not a bundled city: no region rule can match, which is the safe answer.
    return '';
  }
}

/** A catalog entry by `<id>[@version]` (without a version, the latest published). */
export function catalogEntry(deps: ExchangeDeps, id: string): Promise<CatalogEntry | undefined> {
  const at = id.indexOf('@');
  return deps.context.stores.catalog.get(at < 0 ? id : id.slice(0, at), at < 0 ? undefined : id.slice(at + 1));
}

/** Provider side: records the served exchange durably and returns the receipt to send. */
export async function serveReceipt(
  deps: ExchangeDeps,
  authorized: AuthorizedExchange,
  method: string,
  requestJson: unknown,
  responseJson: unknown,
): Promise<Receipt> {
  const hash = requestHash(requestJson);
  const digest = sha256Hex(responseJson);
  // Both entries commit in one group-commit batch as a rule; the receipt waits for both.
  const [, { receipt, claims }] = await Promise.all([
    authorized.decisionRecorded,
    deps.evidence.served({
      correlationId: authorized.correlationId,
      method,
      requestHash: hash,
      responseDigest: digest,
      consumerNodeId: authorized.subject.consumerNodeId,
      actor: authorized.subject.id,
    }),
  ]);
  return {
    providerNodeId: deps.context.identity.spiffeId,
    correlationId: authorized.correlationId,
    method,
    requestHash: hash,
    responseDigest: digest,
    auditSequence: claims.auditSequence,
    issuedAt: claims.issuedAt,
    signature: receipt,
  };
}

/** A forwarded call under way: where it goes and what it carries. */
export interface Forwarded {
  readonly peer: PeerClients;
  readonly metadata: grpc.Metadata;
  readonly correlationId: string;
}

/**
 * Home side: issues the exchange grant for the app's request and prepares the call to
 * the owning city's node.
 */
export async function forward(
  deps: ExchangeDeps,
  caller: Caller,
  input: { resource: string; action: GrantAction; purpose: string },
): Promise<Forwarded> {
  if (caller.kind !== 'app') {
    throw new MeshError(
      'PEER_IDENTITY_MISMATCH',
      'only apps of this city are forwarded; nodes call the owner directly',
      {
        details: { rule: 'no-relay' },
      },
    );
  }
  const { context } = deps;
  const city = ownerCity(input.resource);
  const peer = context.dialer.forCity(city);
  const { app } = caller;
  const { token } = await issueExchangeGrant(
    deps.grants,
    {
      // RFC 8693 delegation: the person (or the app itself) the call is for, acted for by
      // the app, acted for in turn by this node.
      sub: caller.subject ?? caller.spiffeId,
      act:
        caller.subject === undefined || caller.subject === caller.spiffeId
          ? { sub: context.identity.spiffeId }
          : { sub: caller.spiffeId, act: { sub: context.identity.spiffeId } },
      city: context.identity.city,
      industry: app.industry,
      level: app.level,
      region: app.regionCode,
      purpose: input.purpose,
      aud: peer.node.spiffe_id,
      resource: input.resource,
      action: input.action,
    },
    context.clock.now(),
  );
  const correlationId = randomUUID();
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  metadata.set(CORRELATION_HEADER, correlationId);
  return { peer, metadata, correlationId };
}

/** Home side: verifies the provider's receipt against what was sent and received, and keeps it. */
export async function acceptReceipt(
  deps: ExchangeDeps,
  forwarded: Forwarded,
  caller: Caller,
  method: string,
  requestJson: unknown,
  responseJson: unknown,
  receipt: Receipt | undefined,
): Promise<void> {
  if (receipt === undefined || receipt.signature === '') {
    throw new MeshError('RECEIPT_INVALID', `${forwarded.peer.node.spiffe_id} answered without a receipt`, {
      details: { rule: 'missing' },
    });
  }
  const member = findMember(deps.context.trust.metadata, forwarded.peer.city);
  await deps.evidence.consumed({
    correlationId: forwarded.correlationId,
    method,
    requestHash: requestHash(requestJson),
    responseDigest: sha256Hex(responseJson),
    providerNodeId: forwarded.peer.node.spiffe_id,
    providerKeys: member.federation_jwks,
    receipt: receipt.signature,
    actor: caller.kind === 'node' ? caller.peer.spiffeId : caller.spiffeId,
  });
}

async function liveAgreement(
  deps: ExchangeDeps,
  id: string,
  subject: ExchangeSubject,
  entry: CatalogEntry,
): Promise<Agreement> {
  const agreement = await deps.context.stores.agreements.get(id);
  if (!isLiveAgreement(agreement, entry.id, subject.city, deps.context.clock.nowMs())) {
    throw new MeshError(
      'AGREEMENT_REQUIRED',
      `agreement ${id} is not a live agreement of ${subject.city} for ${entry.id}`,
      {
        details: { field: 'agreement_id' },
      },
    );
  }
  return agreement;
}

/**
 * Verifies the exchange grant a peer node presents: for exactly `action` on `resource`
 * (and `purpose`, when given), for this node, issued by the presenting node's city.
 */
export async function verifyGrantFor(
  deps: ExchangeDeps,
  call: { metadata: grpc.Metadata },
  caller: Extract<Caller, { kind: 'node' }>,
  expect: { resource: string; action: GrantAction; purpose?: string },
): Promise<ExchangeGrantClaims> {
  const { context } = deps;
  const { claims } = await verifyExchangeGrant(bearer(call.metadata), {
    metadata: context.trust.metadata,
    audience: context.identity.spiffeId,
    presenterCity: caller.peer.city,
    now: context.clock.now(),
    replay: deps.replay,
  });
  requireAuthorisedExchange(claims, expect, 'grant');
  return claims;
}

function bearer(metadata: grpc.Metadata): string {
  const values = metadata.get('authorization');
  const value = values.length === 1 ? String(values[0]) : '';
  if (!value.startsWith('Bearer ')) {
    throw new MeshError(
      'CREDENTIALS_MISSING',
      'a node must present an exchange grant as `authorization: Bearer <jwt>`',
      {},
    );
  }
  return value.slice('Bearer '.length);
}

/** The correlation id a peer node sends with a forwarded call. */
export function correlationOf(call: { metadata: grpc.Metadata }): string {
  const values = call.metadata.get(CORRELATION_HEADER);
  const value = values.length === 1 ? String(values[0]) : '';
  if (!UUID.test(value)) {
    throw new MeshError('MALFORMED_REQUEST', `${CORRELATION_HEADER} must be one lower-case UUID`, {
      details: { field: CORRELATION_HEADER },
    });
  }
  return value;
}

/**
 * Home side of a unary exchange, whole: grant, call the owning city's node, check the
 * provider's receipt over what was sent and received, pass the answer on.
 */
export async function forwardUnary<Res extends { receipt?: Receipt | undefined }>(
  deps: ExchangeDeps,
  caller: Caller,
  input: { resource: string; action: GrantAction; purpose: string; method: string; requestJson: unknown },
  send: (peer: PeerClients, metadata: grpc.Metadata) => Promise<Res>,
  toJson: (response: Res) => unknown,
): Promise<Res> {
  const forwarded = await forward(deps, caller, input);
  const response = await send(forwarded.peer, forwarded.metadata);
  const bare = toJson({ ...response, receipt: undefined });
  await acceptReceipt(deps, forwarded, caller, input.method, input.requestJson, bare, response.receipt);
  return response;
}
