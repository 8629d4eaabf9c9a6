import { existsSync } from 'node:fs';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGossipKey } from '../../common/gossip/key.js';
import type { PublicJwk } from '../../common/stores/index.js';
import { joinCluster, nodePath } from '../../nodes/index.js';
import { readNodeFile } from '../../nodes/trust/node-files.js';
import { openMemoryStores } from '../../stores/index.js';
import {
  activeKey,
  type ClusterMetadataClaims,
  createCsr,
  type EnrolInput,
  exportPublicJwk,
  generateEcKeyPair,
  publishedJwk,
  TrustAnchor,
  type TrustAnchorSettings,
  verifyClusterMetadata,
} from '../../trust-anchor/index.js';
import {
  ANCHOR_ENTITY_ID,
  cityEntityIdOf,
  httpsCall,
  joinCity,
  latestClaims,
  latestVersion,
  meshErrorOf,
  startTestAnchor,
  TEST_SETTINGS,
  TempDirs,
  type TestAnchor,
  wallStartedClock,
} from '../support/anchor-harness.js';

/** Fresh Ed25519 peer ids, as nodes derive them from their gossip keys. */
async function newPeerId(type: 'Ed25519' | 'secp256k1' = 'Ed25519'): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair(type)).toString();
}

let csrPem = '';
let federationJwk: PublicJwk;
let anchorPeerId = '';
let validPeerId = '';
let cidPeerId = '';
let secpPeerId = '';

beforeAll(async () => {
  const ca = await generateEcKeyPair();
  csrPem = await createCsr({ keys: ca, subjectCn: 'citymesh test city CA' });
  const fed = await generateEcKeyPair();
  const jwk = await exportPublicJwk(fed.publicKey);
  federationJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: fed.kid, use: 'sig' };
  anchorPeerId = await newPeerId();
  validPeerId = await newPeerId();
  cidPeerId = peerIdFromString(validPeerId).toCID().toString();
  secpPeerId = await newPeerId('secp256k1');
});

function enrolInput(token: string, city: string, extra: Partial<EnrolInput> = {}): EnrolInput {
  return {
    joinToken: token,
    city,
    nodeName: 'n1',
    caCsrPem: csrPem,
    entityId: cityEntityIdOf(city),
    federationJwks: [federationJwk],
    grpcEndpoint: `${city}.example:7443`,
    ...extra,
  };
}

/** A gossiping anchor on memory stores, in-process (no HTTPS). */
async function gossipingAnchor(settings: Partial<TrustAnchorSettings> = {}) {
  const stores = openMemoryStores();
  const clock = wallStartedClock();
  const anchor = await TrustAnchor.initialize(
    { stores, clock },
    { ...TEST_SETTINGS, gossip: { peerId: anchorPeerId, address: '/ip4/127.0.0.1/tcp/7002' }, ...settings },
    { cluster: 'jjj', entityId: ANCHOR_ENTITY_ID },
  );
  const claims = async (): Promise<ClusterMetadataClaims> =>
    decodeJwt((await stores.anchor.latestMetadata())!.jwt) as unknown as ClusterMetadataClaims;
  const enrol = async (city: string, extra: Partial<EnrolInput> = {}) =>
    anchor.enrol(enrolInput((await anchor.invite(city)).token, city, extra));
  return { anchor, stores, clock, claims, enrol };
}

const nodeOf = (claims: ClusterMetadataClaims, city: string, name = 'n1') =>
  claims.members.find((m) => m.city === city)?.nodes.find((n) => n.name === name);

describe('the anchor binds gossip peer ids to enrolled nodes', () => {
  it("publishes a node's peer id and address in the metadata it signs, and nothing for a node without them", async () => {
    const { anchor, stores, clock, enrol } = await gossipingAnchor();
    const peer = await newPeerId();
    await enrol('tianjin', { gossipPeerId: peer, gossipAddress: '/ip4/127.0.0.1/tcp/7022' });
    const result = await enrol('beijing');
    const anchorKeys = { keys: [publishedJwk((await activeKey(stores.keys, 'federation')).stored)] };
    const verified = await verifyClusterMetadata(result.clusterMetadata, {
      anchorKeys,
      now: clock.nowSeconds(),
      expectedCluster: 'jjj',
      expectedIssuer: ANCHOR_ENTITY_ID,
    });
    expect(nodeOf(verified.metadata, 'tianjin')).toMatchObject({
      spiffe_id: 'spiffe://tianjin.jjj.citymesh/node/n1',
      gossip_peer_id: peer,
      gossip_address: '/ip4/127.0.0.1/tcp/7022',
    });
    const beijing = nodeOf(verified.metadata, 'beijing');
    expect(beijing).toBeDefined();
    expect(beijing).not.toHaveProperty('gossip_peer_id');
    expect(beijing).not.toHaveProperty('gossip_address');
    expect((await anchor.currentMetadata()).version).toBe(verified.version);
  });

  // Functions: the table is read before beforeAll has made the peer ids.
  it.each<[string, () => Partial<EnrolInput>, string, RegExp]>([
    ['a peer id that is not base58', () => ({ gossipPeerId: 'not a peer id!' }), 'gossipPeerId', /base58 peer id/],
    ['a peer id in CID form', () => ({ gossipPeerId: cidPeerId }), 'gossipPeerId', /base58 peer id/],
    ['a secp256k1 peer id', () => ({ gossipPeerId: secpPeerId }), 'gossipPeerId', /Ed25519/],
    [
      'an address that is not a multiaddr',
      () => ({ gossipAddress: 'localhost:7022' }),
      'gossipAddress',
      /not a multiaddr/,
    ],
    ['a UDP address', () => ({ gossipAddress: '/ip4/127.0.0.1/udp/7022' }), 'gossipAddress', /must have the form/],
    [
      'an address with a /p2p part',
      () => ({ gossipAddress: `/ip4/127.0.0.1/tcp/7022/p2p/${validPeerId}` }),
      'gossipAddress',
      /must have the form/,
    ],
    [
      'an address without a port',
      () => ({ gossipAddress: '/dns4/tianjin.example' }),
      'gossipAddress',
      /must have the form/,
    ],
    ['port 0', () => ({ gossipAddress: '/ip4/127.0.0.1/tcp/0' }), 'gossipAddress', /TCP port from 1 to 65535/],
    ['a non-canonical address', () => ({ gossipAddress: '/ip4/127.0.0.1/tcp/7022/' }), 'gossipAddress', /canonically/],
    ['a DNS name that is not one', () => ({ gossipAddress: '/dns4/tian_jin/tcp/7022' }), 'gossipAddress', /DNS host/],
    [
      'a peer id without an address',
      () => ({ gossipAddress: undefined }),
      'gossipAddress',
      /required with gossipPeerId/,
    ],
    [
      'an address without a peer id',
      () => ({ gossipPeerId: undefined }),
      'gossipPeerId',
      /required with gossipAddress/,
    ],
  ])('refuses %s as MALFORMED_REQUEST naming the field, and publishes nothing', async (_what, tamper, field, rule) => {
    const { stores, enrol } = await gossipingAnchor();
    const input = { gossipPeerId: validPeerId, gossipAddress: '/ip4/127.0.0.1/tcp/7022', ...tamper() };
    const before = await stores.anchor.latestMetadata();
    const err = await meshErrorOf(enrol('tianjin', input));
    expect(err.code).toBe('MALFORMED_REQUEST');
    expect(err.details.field).toBe(field);
    expect(err.message).toMatch(new RegExp(`^${field}: `));
    expect(err.message).toMatch(rule);
    expect(await stores.anchor.latestMetadata()).toEqual(before);
    expect(await stores.anchor.getMember('tianjin')).toBeUndefined();
  });

  it('refuses a peer id bound to another node, or to the anchor, with ALREADY_EXISTS; the token stays usable', async () => {
    const { anchor, stores, enrol } = await gossipingAnchor();
    const taken = await newPeerId();
    await enrol('tianjin', { gossipPeerId: taken, gossipAddress: '/ip4/127.0.0.1/tcp/7022' });
    const versionBefore = (await stores.anchor.latestMetadata())?.version;
    const { token, tokenId } = await anchor.invite('beijing');
    for (const [peerId, holder] of [
      [taken, 'spiffe://tianjin.jjj.citymesh/node/n1'],
      [anchorPeerId, 'the trust anchor'],
    ]) {
      const err = await meshErrorOf(
        anchor.enrol(enrolInput(token, 'beijing', { gossipPeerId: peerId, gossipAddress: '/ip4/127.0.0.1/tcp/7032' })),
      );
      expect(err.code).toBe('ALREADY_EXISTS');
      expect(err.details.field).toBe('gossipPeerId');
      expect(err.message).toContain(`already bound to ${holder}`);
    }
    // A second node of the same city may not share it either.
    const second = await anchor.invite('tianjin');
    const sibling = await meshErrorOf(
      anchor.enrol(
        enrolInput(second.token, 'tianjin', {
          nodeName: 'n2',
          gossipPeerId: taken,
          gossipAddress: '/ip4/127.0.0.1/tcp/7042',
        }),
      ),
    );
    expect(sibling.code).toBe('ALREADY_EXISTS');
    expect((await stores.anchor.latestMetadata())?.version).toBe(versionBefore);
    expect((await stores.anchor.getJoinToken(tokenId))?.usedAt).toBeUndefined();
    const own = await newPeerId();
    await anchor.enrol(enrolInput(token, 'beijing', { gossipPeerId: own, gossipAddress: '/ip4/127.0.0.1/tcp/7032' }));
    expect((await stores.anchor.getMember('beijing'))?.nodes[0]?.gossipPeerId).toBe(own);
  });

  it("replaces a node's binding when it enrols again, freeing the old peer id", async () => {
    const { claims, enrol } = await gossipingAnchor();
    const first = await newPeerId();
    const second = await newPeerId();
    await enrol('tianjin', { gossipPeerId: first, gossipAddress: '/ip4/127.0.0.1/tcp/7022' });
    // Re-enrolling with its own peer id is not a conflict with itself.
    await enrol('tianjin', { gossipPeerId: first, gossipAddress: '/ip4/127.0.0.1/tcp/7024' });
    await enrol('tianjin', { gossipPeerId: second, gossipAddress: '/dns4/tianjin.example/tcp/7122' });
    expect(nodeOf(await claims(), 'tianjin')).toMatchObject({
      gossip_peer_id: second,
      gossip_address: '/dns4/tianjin.example/tcp/7122',
    });
    await enrol('beijing', { gossipPeerId: first, gossipAddress: '/ip4/127.0.0.1/tcp/7032' });
    expect(nodeOf(await claims(), 'beijing')?.gossip_peer_id).toBe(first);
    await enrol('tianjin');
    expect(nodeOf(await claims(), 'tianjin')).not.toHaveProperty('gossip_peer_id');
  });
});

describe("the anchor's own gossip identity", () => {
  it('is in every metadata version a gossiping anchor signs: init, enrol, revoke, refresh', async () => {
    const { anchor, stores, clock, claims, enrol } = await gossipingAnchor();
    const expected = { anchor_peer_id: anchorPeerId, anchor_address: '/ip4/127.0.0.1/tcp/7002' };
    expect((await claims()).gossip).toEqual(expected);
    await enrol('tianjin');
    expect((await claims()).gossip).toEqual(expected);
    await anchor.revoke('city', 'tianjin', 'test');
    expect((await claims()).gossip).toEqual(expected);
    clock.advanceSeconds(TEST_SETTINGS.metadataLifetimeSeconds);
    const refreshed = await anchor.currentMetadata();
    expect(refreshed.version).toBe(4);
    expect((decodeJwt(refreshed.jwt) as ClusterMetadataClaims).gossip).toEqual(expected);
    expect((await stores.anchor.latestMetadata())?.version).toBe(4);
  });

  it('is absent from the metadata of an anchor that does not gossip, which otherwise works alike', async () => {
    const { claims, enrol } = await gossipingAnchor({ gossip: undefined });
    await enrol('tianjin', { gossipPeerId: await newPeerId(), gossipAddress: '/ip4/127.0.0.1/tcp/7022' });
    const latest = await claims();
    expect(latest).not.toHaveProperty('gossip');
    expect(nodeOf(latest, 'tianjin')?.gossip_peer_id).toBeDefined();
  });

  it.each([
    ['peer id', { peerId: 'QmNotEd25519', address: '/ip4/127.0.0.1/tcp/7002' }, 'gossip.peerId'],
    ['address', { peerId: 'PEER', address: '127.0.0.1:7002' }, 'gossip.address'],
  ])(
    'refuses a malformed %s in the settings with INVALID_CONFIG, before writing anything',
    async (_what, gossip, field) => {
      const binding = { ...gossip, peerId: gossip.peerId === 'PEER' ? anchorPeerId : gossip.peerId };
      const stores = openMemoryStores();
      const err = await meshErrorOf(
        TrustAnchor.initialize(
          { stores, clock: wallStartedClock() },
          { ...TEST_SETTINGS, gossip: binding },
          { cluster: 'jjj', entityId: ANCHOR_ENTITY_ID },
        ),
      );
      expect(err.code).toBe('INVALID_CONFIG');
      expect(err.details.field).toBe(field);
      expect(await stores.anchor.getIdentity()).toBeUndefined();
      expect((await stores.keys.list({}, { pageSize: 10 })).items).toEqual([]);
    },
  );
});

describe('node join sends its gossip binding', () => {
  const dirs = new TempDirs();
  let t: TestAnchor;

  beforeAll(async () => {
    t = await startTestAnchor();
  });
  afterAll(async () => {
    await t.stop();
    dirs.removeAll();
  });

  const join = async (
    city: string,
    options: { gossip?: false | { port?: number }; endpoint?: string; dir?: string },
  ) => {
    const { token } = await t.anchor.invite(city);
    const dir = options.dir ?? dirs.make(`citymesh-${city}-`);
    await joinCluster({
      dir,
      anchorUrl: t.server.url,
      token,
      nodeName: 'n1',
      entityId: cityEntityIdOf(city),
      grpcEndpoint: options.endpoint ?? 'localhost:7443',
      clock: t.clock,
      ...(options.gossip === undefined ? {} : { gossip: options.gossip }),
    });
    return dir;
  };

  it("creates the node's gossip key and gets its peer id published, by default on the endpoint's port + 2", async () => {
    const { dir } = await joinCity(t, dirs, 'beijing');
    const { peerId } = readGossipKey(nodePath(dir, 'gossipKey'));
    const published = nodeOf(await latestClaims(t), 'beijing');
    expect(published).toMatchObject({ gossip_peer_id: peerId, gossip_address: '/dns4/beijing.example/tcp/7445' });
    // The node keeps the metadata naming it, as verified at join.
    expect(nodeOf(decodeJwt(readNodeFile(dir, 'metadata')) as ClusterMetadataClaims, 'beijing')?.gossip_peer_id).toBe(
      peerId,
    );
  });

  it.each<[string, string, { port?: number }, string]>([
    ['a localhost', 'localhost:7443', {}, '/ip4/127.0.0.1/tcp/7445'],
    ['an IPv4 literal (with a chosen port)', '10.1.2.3:7443', { port: 9000 }, '/ip4/10.1.2.3/tcp/9000'],
  ])('publishes the binding of %s endpoint as a multiaddr', async (_what, endpoint, gossip, address) => {
    await join('tianjin', { endpoint, gossip });
    expect(nodeOf(await latestClaims(t), 'tianjin')?.gossip_address).toBe(address);
  });

  it('keeps its peer id when the same node joins again from the same folder', async () => {
    const dir = await join('tangshan', {});
    const { peerId } = readGossipKey(nodePath(dir, 'gossipKey'));
    await join('tangshan', { dir });
    expect(readGossipKey(nodePath(dir, 'gossipKey')).peerId).toBe(peerId);
    expect(nodeOf(await latestClaims(t), 'tangshan')?.gossip_peer_id).toBe(peerId);
  });

  it('joins without a binding or a key when gossip is off', async () => {
    const dir = await join('baoding', { gossip: false });
    expect(existsSync(nodePath(dir, 'gossipKey'))).toBe(false);
    expect(nodeOf(await latestClaims(t), 'baoding')).not.toHaveProperty('gossip_peer_id');
  });

  it('refuses a gossip port out of range before enrolling', async () => {
    const before = await latestVersion(t);
    const err = await meshErrorOf(join('langfang', { gossip: { port: 70000 } }));
    expect(err.code).toBe('MALFORMED_REQUEST');
    expect(err.details.field).toBe('gossip-port');
    expect(await latestVersion(t)).toBe(before);
  });

  it('is refused over HTTPS naming the EnrolRequest field, empty strings meaning no binding', async () => {
    const { token } = await t.anchor.invite('chengde');
    const request = {
      joinToken: token,
      city: 'chengde',
      nodeName: 'n1',
      caCsrPem: csrPem,
      entityId: cityEntityIdOf('chengde'),
      federationJwks: JSON.stringify({ keys: [federationJwk] }),
      endpoint: 'chengde.example:7443',
    };
    const refused = await httpsCall(t, '/enrol', {
      method: 'POST',
      body: JSON.stringify({ ...request, gossipPeerId: '', gossipAddress: '/ip4/127.0.0.1/tcp/7445' }),
    });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({
      reason: 'MALFORMED_REQUEST',
      error_description: expect.stringMatching(/^gossipPeerId: /),
    });
    const accepted = await httpsCall(t, '/enrol', {
      method: 'POST',
      body: JSON.stringify({ ...request, gossipPeerId: '', gossipAddress: '' }),
    });
    expect(accepted.status, accepted.body).toBe(200);
    expect(nodeOf(await latestClaims(t), 'chengde')).not.toHaveProperty('gossip_peer_id');
  });
});
