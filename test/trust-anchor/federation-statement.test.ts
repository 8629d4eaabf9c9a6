import { fileURLToPath } from 'node:url';
import { decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  assertNotRevoked,
  DEFAULT_MAX_TOKEN_BYTES,
  findMember,
  findNode,
  hostMatches,
  MAX_CLUSTER_METADATA_BYTES,
  namingViolation,
  signClusterMetadata,
  signEntityStatement,
  signHistoricalKeys,
  signResolveResponse,
  verifyClusterMetadata,
  verifyEntityStatement,
  verifyTrustChain,
} from '../../trust-anchor/federation/index.js';
import { ANCHOR, BEIJING, Fixtures, readKeys, TIANJIN, VECTOR_NOW } from '../vectors/federation/generate.js';

const DIR = fileURLToPath(new URL('../vectors/federation/', import.meta.url));
const NOW = VECTOR_NOW;

async function codeOf(work: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    if (!(err instanceof MeshError)) throw err;
    return `${err.code}/${err.details.rule}`;
  }
  return 'ok';
}

let f: Fixtures;

beforeAll(async () => {
  f = new Fixtures(await readKeys(DIR));
});

describe('signing', () => {
  it('puts alg, kid and the typ of each kind in the header', async () => {
    const key = f.signer('anchorOld');
    const statement = await signEntityStatement(f.anchorConfiguration(), key);
    const metadata = await signClusterMetadata(f.clusterClaims(1), key);
    const historical = await signHistoricalKeys(
      { iss: ANCHOR, iat: NOW, keys: [{ ...f.keys.anchorNext.publicJwk, kid: f.keys.anchorNext.kid, exp: NOW - 10 }] },
      key,
    );
    const resolved = await signResolveResponse(
      {
        iss: ANCHOR,
        sub: BEIJING,
        iat: NOW,
        exp: NOW + 60,
        metadata: { citymesh_node: f.nodeMetadata('beijing') },
        trust_chain: [statement],
      },
      key,
    );
    const typs = [statement, metadata, historical, resolved].map((jwt) => decodeProtectedHeader(jwt));
    expect(typs.map((h) => h.typ)).toEqual([
      'entity-statement+jwt',
      'citymesh-cluster-metadata+jwt',
      'jwk-set+jwt',
      'resolve-response+jwt',
    ]);
    expect(typs.every((h) => h.alg === 'ES256' && h.kid === key.kid)).toBe(true);
  });

  it('refuses to sign what the verifiers would refuse', async () => {
    const key = f.signer('anchorOld');
    expect(
      await codeOf(
        signEntityStatement(f.anchorConfiguration({ iss: 'http://anchor.example', sub: 'http://anchor.example' }), key),
      ),
    ).toBe('MALFORMED_REQUEST/entity-id');
    expect(
      await codeOf(signEntityStatement(f.anchorConfiguration({ jwks: { keys: [f.keys.anchorOld.privateJwk] } }), key)),
    ).toMatch(/^MALFORMED_REQUEST\//);
    expect(await codeOf(signClusterMetadata(f.clusterClaims(1, { exp: NOW + 7 * 86_400 }), key))).toBe(
      'MALFORMED_REQUEST/metadata-lifetime',
    );
    const wrongDomain = { ...f.member('beijing'), trust_domain: 'tianjin.jjj.citymesh' };
    expect(await codeOf(signClusterMetadata(f.clusterClaims(1, { members: [wrongDomain] }), key))).toBe(
      'MALFORMED_REQUEST/trust-domain',
    );
    const wrongNode = {
      ...f.member('beijing'),
      nodes: [{ ...f.member('beijing').nodes[0]!, spiffe_id: 'spiffe://tianjin.jjj.citymesh/node/node-1' }],
    };
    expect(await codeOf(signClusterMetadata(f.clusterClaims(1, { members: [wrongNode] }), key))).toBe(
      'MALFORMED_REQUEST/node-spiffe-id',
    );
    await expect(signEntityStatement(f.anchorConfiguration(), { ...key, alg: 'HS256' as never })).rejects.toThrow(
      TypeError,
    );
  });
});

describe('verifyEntityStatement', () => {
  it('verifies a self-signed configuration with its own keys when no keys are given, but never a subordinate statement', async () => {
    const leaf = await signEntityStatement(f.cityConfiguration(BEIJING, 'beijing'), f.signer('beijing'));
    const result = await verifyEntityStatement(leaf, { now: NOW, fetchedFor: BEIJING });
    expect(result).toMatchObject({ entityConfiguration: true, kid: f.keys.beijing.kid, alg: 'ES256' });
    const link = await signEntityStatement(f.subordinate(ANCHOR, BEIJING, 'beijing'), f.signer('anchorOld'));
    expect(await codeOf(verifyEntityStatement(link, { now: NOW }))).toBe('TOKEN_KEY_UNKNOWN/issuer-keys-required');
    expect(
      await codeOf(verifyEntityStatement(link, { now: NOW, keys: f.jwks('anchorOld'), expectedIss: TIANJIN })),
    ).toBe('TOKEN_ISSUER_MISMATCH/iss');
  });

  it('accepts an understood critical claim and refuses claims in the wrong kind of statement', async () => {
    const key = f.signer('anchorOld');
    const critical = await signEntityStatement(f.anchorConfiguration({ crit: ['citymesh_x'], citymesh_x: 1 }), key);
    expect(
      await codeOf(
        verifyEntityStatement(critical, { now: NOW, keys: f.jwks('anchorOld'), understoodClaims: ['citymesh_x'] }),
      ),
    ).toBe('ok');
    const standard = await signEntityStatement(f.anchorConfiguration({ crit: ['metadata'] }), key);
    expect(await codeOf(verifyEntityStatement(standard, { now: NOW, keys: f.jwks('anchorOld') }))).toBe(
      'TOKEN_CRIT_UNSUPPORTED/crit-claim',
    );
    const constrained = await signEntityStatement(f.anchorConfiguration({ constraints: { max_path_length: 0 } }), key);
    expect(await codeOf(verifyEntityStatement(constrained, { now: NOW, keys: f.jwks('anchorOld') }))).toBe(
      'TOKEN_MALFORMED/constraints-in-entity-configuration',
    );
    const hinted = await signEntityStatement(
      f.subordinate(ANCHOR, BEIJING, 'beijing', { authority_hints: [ANCHOR] }),
      key,
    );
    expect(await codeOf(verifyEntityStatement(hinted, { now: NOW, keys: f.jwks('anchorOld') }))).toBe(
      'TOKEN_MALFORMED/authority-hints-in-subordinate-statement',
    );
  });

  it('accepts http entity ids only on loopback and only when allowed', async () => {
    const local = 'http://127.0.0.1:8443';
    const jwt = await signEntityStatement(f.anchorConfiguration({ iss: local, sub: local }), f.signer('anchorOld'));
    expect(await codeOf(verifyEntityStatement(jwt, { now: NOW, keys: f.jwks('anchorOld') }))).toBe(
      'TOKEN_MALFORMED/entity-id',
    );
    expect(
      await codeOf(verifyEntityStatement(jwt, { now: NOW, keys: f.jwks('anchorOld'), allowLoopbackHttp: true })),
    ).toBe('ok');
  });
});

describe('verifyTrustChain', () => {
  const options = () => ({ trustAnchors: f.pins, now: NOW, subjectEntityId: BEIJING });

  it('returns the leaf, the anchor, the earliest exp, the statements and the resolved metadata', async () => {
    const result = await verifyTrustChain(await f.beijingChain(), options());
    expect(result.anchorEntityId).toBe(ANCHOR);
    expect(result.exp).toBe(NOW + 3_600);
    expect(result.statements.map((s) => [s.iss, s.sub])).toEqual([
      [BEIJING, BEIJING],
      [ANCHOR, BEIJING],
      [ANCHOR, ANCHOR],
    ]);
    expect(result.metadata.citymesh_node).toMatchObject({ city: 'beijing', trust_domain: 'beijing.jjj.citymesh' });
  });

  it("lets the anchor's subordinate statement override the city's own parameters", async () => {
    const link = await signEntityStatement(
      f.subordinate(ANCHOR, BEIJING, 'beijing', {
        metadata: { citymesh_node: { ...f.identity('beijing'), grpc_endpoint: 'vouched.jjj.citymesh.example:9443' } },
      }),
      f.signer('anchorOld'),
    );
    const result = await verifyTrustChain(await f.beijingChain({ link }), options());
    expect(result.metadata.citymesh_node?.grpc_endpoint).toBe('vouched.jjj.citymesh.example:9443');
  });

  it('removes entity types that allowed_entity_types does not list (federation_entity always stays)', async () => {
    const leaf = await signEntityStatement(
      f.cityConfiguration(BEIJING, 'beijing', {
        metadata: {
          citymesh_node: f.nodeMetadata('beijing'),
          openid_provider: { issuer: BEIJING },
          federation_entity: {},
        },
      }),
      f.signer('beijing'),
    );
    const result = await verifyTrustChain(await f.beijingChain({ leaf }), options());
    expect(Object.keys(result.metadata).sort()).toEqual(['citymesh_node', 'federation_entity']);
    expect(result.removedEntityTypes).toEqual(['openid_provider']);
  });

  it('refuses chains of the wrong shape', async () => {
    const [leaf, , anchor] = await f.beijingChain();
    expect(await codeOf(verifyTrustChain([leaf!, anchor!], options()))).toBe('TRUST_CHAIN_INVALID/shape');
    expect(await codeOf(verifyTrustChain([], options()))).toBe('TRUST_CHAIN_INVALID/shape');
    expect(await codeOf(verifyTrustChain('nope', options()))).toBe('TRUST_CHAIN_INVALID/shape');
    expect(await codeOf(verifyTrustChain([anchor!], options()))).toBe('TRUST_CHAIN_INVALID/shape');
    const noHint = await signEntityStatement(
      f.cityConfiguration(BEIJING, 'beijing', { authority_hints: [TIANJIN] }),
      f.signer('beijing'),
    );
    expect(await codeOf(verifyTrustChain(await f.beijingChain({ leaf: noHint }), options()))).toBe(
      'TRUST_CHAIN_INVALID/authority-hints',
    );
    // Beijing's statement about Tianjin where Tianjin's own configuration belongs.
    const beijingAboutTianjin = await signEntityStatement(
      f.subordinate(BEIJING, TIANJIN, 'tianjin'),
      f.signer('beijing'),
    );
    const [, link] = await f.beijingChain();
    expect(
      await codeOf(verifyTrustChain([beijingAboutTianjin, link!, anchor!], { ...options(), subjectEntityId: TIANJIN })),
    ).toBe('TRUST_CHAIN_INVALID/statement-kind');
    await expect(verifyTrustChain([anchor!], { ...options(), maxPathLength: 99 })).rejects.toThrow(TypeError);
  });
});

describe('cluster metadata, revocation and membership', () => {
  it('finds members and nodes, and refuses strangers', async () => {
    const { metadata } = await verifyClusterMetadata(await f.metadata(f.clusterClaims(3)), {
      anchorKeys: f.jwks('anchorOld'),
      now: NOW,
      expectedCluster: 'jjj',
    });
    expect(findMember(metadata, 'beijing').entity_id).toBe(BEIJING);
    expect(findNode(metadata, 'spiffe://beijing.jjj.citymesh/node/node-2').node.name).toBe('node-2');
    expect(await codeOf(() => findNode(metadata, 'spiffe://beijing.jjj.citymesh/node/node-9'))).toBe(
      'NOT_A_MEMBER/node-not-member',
    );
    expect(await codeOf(() => findNode(metadata, 'spiffe://beijing.prd.citymesh/node/node-1'))).toBe(
      'NOT_A_MEMBER/other-cluster',
    );
    expect(Object.isFrozen(metadata.members)).toBe(true);
  });

  it('verifies a document beyond the 64 KiB token limit, as a large cluster with CA renewals has, up to its own limit', async () => {
    const revocations = Array.from({ length: 900 }, (_, i) => ({
      kind: 'key' as const,
      id: `renewed-city-ca-key-${String(i).padStart(4, '0')}`,
      reason: 'rotated',
      revoked_at: NOW,
      version: 9,
    }));
    const jwt = await f.metadata(f.clusterClaims(9, { revocations }));
    expect(jwt.length).toBeGreaterThan(DEFAULT_MAX_TOKEN_BYTES);
    const options = { anchorKeys: f.jwks('anchorOld'), now: NOW, expectedCluster: 'jjj' };
    const { metadata } = await verifyClusterMetadata(jwt, options);
    expect(metadata.revocations).toHaveLength(900);
    const oversized = `${jwt}${'A'.repeat(MAX_CLUSTER_METADATA_BYTES)}`;
    expect(await codeOf(verifyClusterMetadata(oversized, options))).toMatch(/^TOKEN_TOO_LARGE\//);
  });

  it('matches revoked keys and certificate serials', async () => {
    const { metadata } = await verifyClusterMetadata(
      await f.metadata(
        f.clusterClaims(9, {
          revocations: [
            { kind: 'key', id: 'old-kid', reason: 'rotated', revoked_at: NOW, version: 9 },
            { kind: 'certificate', id: '00:0A:bc', reason: 'lost', revoked_at: NOW, version: 9 },
          ],
        }),
      ),
      { anchorKeys: f.jwks('anchorOld'), now: NOW, expectedCluster: 'jjj' },
    );
    expect(await codeOf(() => assertNotRevoked(metadata, { kid: 'old-kid' }))).toBe('KEY_REVOKED/key-revoked');
    expect(await codeOf(() => assertNotRevoked(metadata, { certificateSerial: '0abc' }))).toBe(
      'CERTIFICATE_INVALID/certificate-revoked',
    );
    expect(
      await codeOf(() => assertNotRevoked(metadata, { city: 'beijing', kid: 'other', certificateSerial: 'abd' })),
    ).toBe('ok');
  });
});

describe('naming constraints (RFC 5280 §4.2.1.10 URI rules)', () => {
  it('matches a leading-dot constraint to subdomains only and a bare host exactly', () => {
    expect(hostMatches('beijing.jjj.citymesh.example', '.jjj.citymesh.example')).toBe(true);
    expect(hostMatches('jjj.citymesh.example', '.jjj.citymesh.example')).toBe(false);
    expect(hostMatches('evil-jjj.citymesh.example', '.jjj.citymesh.example')).toBe(false);
    expect(hostMatches('Beijing.JJJ.citymesh.example', 'beijing.jjj.citymesh.example')).toBe(true);
    expect(hostMatches('x.beijing.jjj.citymesh.example', 'beijing.jjj.citymesh.example')).toBe(false);
    expect(namingViolation('a.jjj.citymesh.example', { permitted: [] })).toMatch(/not within/);
  });
});
