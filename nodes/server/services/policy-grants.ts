import * as grpc from '@grpc/grpc-js';
import { decodeProtectedHeader } from 'jose';
import { canonicalize, type JsonValue } from '../../../common/canonical-json.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { Classification } from '../../../proto/gen/citymesh/v1/common.js';
import {
  CrossCityGrant,
  type ListGrantsRequest,
  type ListGrantsResponse,
} from '../../../proto/gen/citymesh/v1/policy_service.js';
import {
  assertNotRevoked,
  type ClusterMetadataClaims,
  FEDERATION_ALGORITHMS,
  findMember,
  verifyJws,
} from '../../../trust-anchor/index.js';
import { type AuditSigner, formatInstant } from '../../audit/index.js';
import { grantRules } from '../../policy/city-grants.js';
import { POLICY_ACTIONS, type PolicySnapshot, type Rule } from '../../policy/engine/index.js';
import { ANY, fromSet, resolveCities, resolveIndustries, resolvePurposes } from '../../policy/engine/selectors.js';
import { type Caller, describeCaller } from '../caller.js';
import type { NodeContext } from '../node-runtime.js';
import { issueToken, pageLimit, readToken } from './audit-paging.js';
import { callPeer } from './peer-call.js';
import { ACTION_OF, CLASSIFICATION_OF, selectorsToProto, type Universe } from './policy-proto.js';

/** `typ` of a published cross-city grant (docs/specs/protocol.md, PolicyService). */
export const GRANT_TYP = 'citymesh-grant+jws';

/** A grant is vouched for one day at a time: peers re-fetch rather than trust it forever. */
export const GRANT_VALIDITY_MS = 24 * 3600_000;

/** How long signed grants are served again before being re-signed (and their window moved on). */
const RESIGN_AFTER_MS = 3600_000;

const ALL_ACTIONS = POLICY_ACTIONS.map(ACTION_OF);

/**
 * The signed payload: RFC 8785 canonical JSON of the grant's proto3 JSON without
 * `signature`. ts-proto writes Timestamps with three fractional digits; the protocol's
 * canonical form has none when they are zero (§6), so both times are rewritten.
 */
export function grantPayload(grant: CrossCityGrant): string {
  const json = CrossCityGrant.toJSON({ ...grant, signature: '' }) as Record<string, JsonValue>;
  if (grant.notBefore !== undefined) json['notBefore'] = formatInstant(grant.notBefore);
  if (grant.notAfter !== undefined) json['notAfter'] = formatInstant(grant.notAfter);
  return canonicalize(json);
}

/**
 * The subject industries of a grant. `$same`/`$other` are relative to each entry's
 * industry, so they can be listed only when the grant covers one object industry;
 * otherwise they read as any (a superset).
 */
function industriesOf(rule: Rule) {
  const pattern = rule.subIndustry;
  const objects = rule.objIndustries;
  if (pattern === undefined) return ANY;
  if ((pattern.same || pattern.other) && objects?.size !== 1) return ANY;
  return resolveIndustries(pattern, objects === undefined ? '' : [...objects][0]!);
}

function maxClassification(rule: Rule): Classification {
  const c = rule.classification;
  return c === undefined || c.op === '>=' ? Classification.CLASSIFICATION_RESTRICTED : CLASSIFICATION_OF[c.name];
}

/**
 * The grants a version publishes: the allow rules of its grants file that can apply to
 * the grantor's entries, unsigned. A rule whose subjects take more than one selector
 * (kinds and roles, a region relation) is published as one grant per selector, `<id>.<n>`.
 */
export function grantsOf(
  snapshot: PolicySnapshot,
  grantor: { cluster: string; city: string },
  universe: Universe,
  window: { notBefore: Date; notAfter: Date },
): CrossCityGrant[] {
  const out: CrossCityGrant[] = [];
  for (const rule of grantRules(snapshot.rules)) {
    if (rule.effect !== 'allow' || (rule.objCities !== undefined && !rule.objCities.has(grantor.city))) continue;
    const c = rule.cells;
    const grantees = selectorsToProto(
      {
        rule: rule.id,
        cities: resolveCities(rule.subCity, grantor.city),
        industries: industriesOf(rule),
        who: c.who,
        levels: fromSet(rule.subLevels),
        region: c.sub_region,
        relation: c.relation,
        purposes: resolvePurposes(rule.purpose),
        agreementRequired: rule.agreement === 'required',
      },
      rule.objRegion,
      universe,
    );
    // Rules of the grants file that speak only for the grantor's own subjects are not cross-city grants.
    if (grantees.every((g) => g.cities.length > 0 && g.cities.every((city) => city === grantor.city))) continue;
    grantees.forEach((grantee, i) => {
      out.push({
        id: grantees.length === 1 ? rule.id : `${rule.id}.${i + 1}`,
        grantorCity: grantor.city,
        grantee,
        resources: [c.resource === '*' ? `${grantor.cluster}/${grantor.city}/*` : c.resource],
        actions:
          rule.actions === undefined ? ALL_ACTIONS : POLICY_ACTIONS.filter((a) => rule.actions!.has(a)).map(ACTION_OF),
        maxClassification: maxClassification(rule),
        notBefore: window.notBefore,
        notAfter: window.notAfter,
        policyVersion: snapshot.version,
        signature: '',
      });
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Signs a grant with the node's federation key. */
export async function signGrant(grant: CrossCityGrant, signer: AuditSigner): Promise<CrossCityGrant> {
  const signature = await signer.sign(GRANT_TYP, new TextEncoder().encode(grantPayload(grant)));
  return { ...grant, signature };
}

const floorToSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

/**
 * The city's signed grants for one version in force, signed again once an hour so that
 * every answer stays vouched for at least 23 hours without signing on every call.
 */
export class GrantBook {
  readonly #signer: AuditSigner;
  #cached: { key: string; signedAtMs: number; grants: readonly CrossCityGrant[] } | undefined;

  constructor(signer: AuditSigner) {
    this.#signer = signer;
  }

  async grants(
    snapshot: PolicySnapshot,
    activatedAt: Date,
    grantor: { cluster: string; city: string },
    universe: Universe,
    nowMs: number,
  ): Promise<readonly CrossCityGrant[]> {
    const key = `${snapshot.version}|${activatedAt.getTime()}|${universe.cities.join(',')}`;
    const cached = this.#cached;
    if (cached?.key === key && nowMs >= cached.signedAtMs && nowMs - cached.signedAtMs < RESIGN_AFTER_MS) {
      return cached.grants;
    }
    const signedAt = floorToSecond(nowMs);
    const unsigned = grantsOf(snapshot, grantor, universe, {
      notBefore: floorToSecond(activatedAt.getTime()),
      notAfter: new Date(signedAt.getTime() + GRANT_VALIDITY_MS),
    });
    const grants = await Promise.all(unsigned.map((g) => signGrant(g, this.#signer)));
    this.#cached = { key, signedAtMs: signedAt.getTime(), grants };
    return grants;
  }
}

function invalid(message: string, rule: string): MeshError {
  return new MeshError('TOKEN_SIGNATURE_INVALID', message, { details: { rule } });
}

/**
 * Verifies a published grant for a peer or an auditor: the grantor city is a member and
 * neither it nor the signing key is revoked; the JWS verifies with one of the grantor's
 * federation keys from the cluster metadata (never from the token), with `typ`
 * `citymesh-grant+jws`; and the signed bytes are exactly the canonical form of the
 * grant's other fields. With `now`, the grant must also be within its validity window.
 *
 * @throws MeshError `NOT_A_MEMBER`, `CITY_REVOKED`, `KEY_REVOKED`, the token verifier's
 *   codes (`TOKEN_TYPE_MISMATCH`, `TOKEN_KEY_UNKNOWN`, `TOKEN_SIGNATURE_INVALID`, …), or
 *   `TOKEN_SIGNATURE_INVALID` rule `payload-fields` when a field differs from what was
 *   signed; `TOKEN_NOT_YET_VALID`, `TOKEN_EXPIRED` outside the window
 */
export async function verifyGrantSignature(
  grant: CrossCityGrant,
  metadata: ClusterMetadataClaims,
  options: { now?: Date } = {},
): Promise<{ kid: string }> {
  const member = findMember(metadata, grant.grantorCity);
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(grant.signature).kid;
  } catch {
    throw new MeshError('TOKEN_MALFORMED', `grant ${grant.id}: the signature is not a compact JWS`, {
      details: { rule: 'shape' },
    });
  }
  assertNotRevoked(metadata, { city: grant.grantorCity, ...(typeof kid === 'string' ? { kid } : {}) });
  const now = options.now ?? new Date();
  const verified = await verifyJws(grant.signature, {
    expectedTyp: GRANT_TYP,
    keys: member.federation_jwks,
    now,
    algorithms: FEDERATION_ALGORITHMS,
    requireExp: false,
  });
  const signed = Buffer.from(grant.signature.split('.')[1] ?? '', 'base64url').toString('utf8');
  if (signed !== grantPayload(grant)) {
    throw invalid(`grant ${grant.id} of ${grant.grantorCity} differs from what its signature covers`, 'payload-fields');
  }
  if (options.now !== undefined) {
    if (grant.notBefore !== undefined && now < grant.notBefore) {
      throw new MeshError('TOKEN_NOT_YET_VALID', `grant ${grant.id} is valid from ${formatInstant(grant.notBefore)}`, {
        details: { rule: 'not-before' },
      });
    }
    if (grant.notAfter === undefined || now >= grant.notAfter) {
      throw new MeshError('TOKEN_EXPIRED', `grant ${grant.id} is no longer vouched for: fetch it again`, {
        details: { rule: 'not-after' },
      });
    }
  }
  return { kid: verified.header.kid };
}

/**
 * Another city's grants for an app of this city. Grants are published data, so the home
 * node asks the grantor's node over mTLS without an exchange grant, and passes on only
 * grants that verify as the grantor's. A peer node is never relayed: it asks the grantor.
 */
export async function forwardListGrants(
  context: NodeContext,
  request: ListGrantsRequest,
  caller: Caller,
): Promise<ListGrantsResponse> {
  const city = request.city;
  if (caller.kind !== 'app') {
    throw new MeshError(
      'PEER_IDENTITY_MISMATCH',
      `${describeCaller(caller)} gets ${city}'s grants from ${city}'s node`,
      {
        details: { rule: 'no-relay' },
      },
    );
  }
  const client = context.dialer.forCity(city).policy;
  const response = await callPeer(client, client.listGrants, request, new grpc.Metadata());
  for (const grant of response.grants) {
    if (grant.grantorCity !== city) {
      throw new MeshError('PEER_IDENTITY_MISMATCH', `${city}'s node answered with a grant of ${grant.grantorCity}`, {
        details: { rule: 'grantor' },
      });
    }
    await verifyGrantSignature(grant, context.trust.metadata, { now: context.clock.now() });
  }
  return response;
}

/** One page of this city's grants, by id, those whose grantees may include `grantee_city`. */
export function grantsPage(all: readonly CrossCityGrant[], request: ListGrantsRequest): ListGrantsResponse {
  const limit = pageLimit('ListGrantsRequest', request.pageSize);
  const query = { city: request.city, granteeCity: request.granteeCity };
  const after = request.pageToken === '' ? '' : readToken(query, request.pageToken);
  const grantee = request.granteeCity;
  const wanted = all.filter(
    (g) => g.id > after && (grantee === '' || g.grantee!.cities.length === 0 || g.grantee!.cities.includes(grantee)),
  );
  const grants = wanted.slice(0, limit);
  return { grants, nextPageToken: wanted.length > limit ? issueToken(query, grants.at(-1)!.id) : '' };
}
