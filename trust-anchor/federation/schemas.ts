import { z } from 'zod';
import { isMeshError } from '../../common/errors/mesh-error.js';
import { gossipAddressProblem, gossipPeerIdProblem } from '../../common/gossip/binding.js';
import {
  formatTrustDomain,
  parseCityName,
  parseClusterName,
  parseNodeName,
  parseRegionCode,
  parseSpiffeId,
} from '../../common/ids/index.js';
import { fail } from './failure.js';
import { hasPrivateMembers } from './jwks.js';
import { REVOCATION_KINDS } from './types.js';

/**
 * Claim schemas shared by signing and verification, so the anchor can never sign what its
 * verifiers refuse. Objects are loose: extension claims pass through (extensions that must
 * be understood are listed in `crit`); known claims must have the right shape.
 */

const numericDate = z.number().finite();
const nonEmpty = z.string().min(1);

/** A string that one of the `common/ids` parsers accepts; the parser's rule becomes the issue. */
function identifier(parse: (input: unknown) => unknown) {
  return z.string().superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (err) {
      if (!isMeshError(err)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, params: { rule: err.details.rule } });
    }
  });
}

const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;

/** A string `problem` finds nothing wrong with; its answer becomes the issue, under `rule`. */
function checkedBy(problem: (value: string) => string | undefined, rule: string) {
  return z.string().superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, params: { rule } });
  });
}

const gossipPeerId = checkedBy(gossipPeerIdProblem, 'gossip-peer-id');
const gossipAddress = checkedBy(gossipAddressProblem, 'gossip-address');

const pemCertificates = z.array(z.string().regex(PEM_CERTIFICATE, 'must be a PEM certificate'));
const hostPort = z.string().regex(HOST_PORT, 'must be host:port');
const httpsUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an https URL');

/** A public JWK with a `kid`; private or symmetric material is refused. */
export const publicJwkSchema = z
  .looseObject({ kty: nonEmpty, kid: nonEmpty })
  .refine((jwk) => !hasPrivateMembers(jwk), 'must be a public key (no private or symmetric members)');

/** A JWK Set whose `kid`s are unique. */
export const jwkSetSchema = z
  .looseObject({ keys: z.array(publicJwkSchema).min(1) })
  .refine((set) => new Set(set.keys.map((key) => key.kid)).size === set.keys.length, 'kids must be unique');

export const namingConstraintsSchema = z.looseObject({
  permitted: z.array(nonEmpty),
  excluded: z.array(nonEmpty).optional(),
});

export const constraintsSchema = z.looseObject({
  max_path_length: z.number().int().min(0).optional(),
  naming_constraints: namingConstraintsSchema.optional(),
  allowed_entity_types: z.array(nonEmpty).optional(),
});

export const entityStatementSchema = z.looseObject({
  iss: nonEmpty,
  sub: nonEmpty,
  iat: numericDate,
  exp: numericDate,
  jwks: jwkSetSchema,
  authority_hints: z.array(nonEmpty).min(1).optional(),
  metadata: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  constraints: constraintsSchema.optional(),
  crit: z.array(nonEmpty).min(1).optional(),
  metadata_policy: z.record(z.string(), z.unknown()).optional(),
  metadata_policy_crit: z.array(nonEmpty).optional(),
  source_endpoint: z.string().optional(),
});

/** `metadata.citymesh_node` once resolved (the leaf's configuration with the anchor's values over it). */
export const citymeshNodeSchema = z
  .looseObject({
    cluster: identifier(parseClusterName),
    city: identifier(parseCityName),
    region_code: identifier(parseRegionCode),
    trust_domain: nonEmpty,
    grpc_endpoint: hostPort,
    https_endpoint: httpsUrl,
    ca_certificates: pemCertificates,
  })
  .superRefine((node, ctx) => {
    const expected = formatTrustDomain(node.cluster, node.city);
    if (node.trust_domain !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['trust_domain'],
        message: `must be "${expected}"`,
        params: { rule: 'trust-domain' },
      });
    }
  });

const clusterNodeSchema = z.looseObject({
  name: identifier(parseNodeName),
  spiffe_id: identifier(parseSpiffeId),
  grpc_endpoint: hostPort,
  https_endpoint: httpsUrl,
  gossip_peer_id: gossipPeerId.optional(),
  gossip_address: gossipAddress.optional(),
});

/** `gossip`: where the anchor itself publishes on the cluster's topics. */
const anchorGossipSchema = z.looseObject({ anchor_peer_id: gossipPeerId, anchor_address: gossipAddress });

const clusterMemberSchema = z.looseObject({
  city: identifier(parseCityName),
  entity_id: nonEmpty,
  region_code: identifier(parseRegionCode),
  trust_domain: nonEmpty,
  federation_jwks: jwkSetSchema,
  ca_certificates: pemCertificates,
  nodes: z.array(clusterNodeSchema),
});

const revocationSchema = z.looseObject({
  kind: z.enum(REVOCATION_KINDS),
  id: nonEmpty,
  reason: z.string(),
  revoked_at: numericDate,
  version: z.number().int().min(0),
});

export const clusterMetadataSchema = z
  .looseObject({
    iss: nonEmpty,
    sub: nonEmpty,
    cluster: identifier(parseClusterName),
    version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    iat: numericDate,
    exp: numericDate,
    anchor_keys: jwkSetSchema,
    members: z.array(clusterMemberSchema),
    parameters: z.looseObject({
      metadata_lifetime_seconds: z.number().int().min(60),
      certificate_lifetime_hours: z.number().int().min(1),
    }),
    revocations: z.array(revocationSchema),
    gossip: anchorGossipSchema.optional(),
  })
  .superRefine((claims, ctx) => {
    // Cross-field rules, once every field has its shape.
    const issue = (path: (string | number)[], rule: string, message: string) =>
      ctx.addIssue({ code: 'custom', path, message, params: { rule } });
    // A peer id is one identity: bound twice, a peer could pass as either holder.
    const peerIds = new Map<string, string>();
    const bindPeerId = (peerId: string | undefined, path: (string | number)[], holder: string) => {
      if (peerId === undefined) return;
      const earlier = peerIds.get(peerId);
      if (earlier !== undefined) issue(path, 'duplicate-gossip-peer-id', `is already bound to ${earlier}`);
      else peerIds.set(peerId, holder);
    };
    bindPeerId(claims.gossip?.anchor_peer_id, ['gossip', 'anchor_peer_id'], 'the anchor');
    const cities = new Set<string>();
    claims.members.forEach((member, i) => {
      if (cities.has(member.city))
        issue(['members', i, 'city'], 'duplicate-member', `lists city "${member.city}" twice`);
      cities.add(member.city);
      const domain = formatTrustDomain(claims.cluster, member.city);
      if (member.trust_domain !== domain) issue(['members', i, 'trust_domain'], 'trust-domain', `must be "${domain}"`);
      const names = new Set<string>();
      member.nodes.forEach((node, j) => {
        if (names.has(node.name))
          issue(['members', i, 'nodes', j, 'name'], 'duplicate-node', `lists node "${node.name}" twice`);
        names.add(node.name);
        if ((node.gossip_peer_id === undefined) !== (node.gossip_address === undefined)) {
          const [missing, present] =
            node.gossip_peer_id === undefined
              ? ['gossip_peer_id', 'gossip_address']
              : ['gossip_address', 'gossip_peer_id'];
          issue(['members', i, 'nodes', j, missing], 'gossip-binding', `is required with ${present}`);
        }
        bindPeerId(node.gossip_peer_id, ['members', i, 'nodes', j, 'gossip_peer_id'], node.spiffe_id);
        const id = parseSpiffeId(node.spiffe_id);
        if (id.trustDomain !== domain || id.kind !== 'node' || id.name !== node.name) {
          issue(
            ['members', i, 'nodes', j, 'spiffe_id'],
            'node-spiffe-id',
            `must be spiffe://${domain}/node/${node.name}`,
          );
        }
      });
    });
    claims.revocations.forEach((revocation, i) => {
      if (revocation.version > claims.version) {
        issue(['revocations', i, 'version'], 'revocation-version', 'must not be above the metadata version');
      }
      const parse = revocation.kind === 'city' ? parseCityName : revocation.kind === 'node' ? parseSpiffeId : undefined;
      if (parse !== undefined) {
        try {
          parse(revocation.id);
        } catch (err) {
          if (!isMeshError(err)) throw err;
          issue(['revocations', i, 'id'], 'revocation-id', err.message);
        }
      }
    });
  });

const historicalKeySchema = publicJwkSchema.and(
  z.looseObject({
    exp: numericDate,
    iat: numericDate.optional(),
    revoked: z.looseObject({ revoked_at: numericDate, reason: z.string().optional() }).optional(),
  }),
);

export const historicalKeysSchema = z.looseObject({
  iss: nonEmpty,
  iat: numericDate,
  keys: z.array(historicalKeySchema),
});

export const resolveResponseSchema = z.looseObject({
  iss: nonEmpty,
  sub: nonEmpty,
  iat: numericDate,
  exp: numericDate,
  metadata: z.record(z.string(), z.record(z.string(), z.unknown())),
  trust_chain: z.array(nonEmpty).min(1),
  trust_marks: z.array(z.unknown()).optional(),
});

/**
 * Parses claims with `schema`, turning the first issue into a MeshError with
 * `details.claim` (a dotted path) and `details.rule`.
 *
 * @throws MeshError `code` (`TOKEN_MALFORMED` by default)
 */
export function parseClaims<T>(
  schema: z.ZodType,
  value: unknown,
  what: string,
  code: 'TOKEN_MALFORMED' | 'MALFORMED_REQUEST' = 'TOKEN_MALFORMED',
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data as T;
  const issue = result.error.issues[0]!;
  const claim = issue.path.map(String).join('.') || '$';
  const rule =
    issue.code === 'custom' && typeof issue.params?.rule === 'string' ? issue.params.rule : `schema-${issue.code}`;
  throw fail(code, rule, `${what}: ${claim} ${issue.message}`, { claim });
}
