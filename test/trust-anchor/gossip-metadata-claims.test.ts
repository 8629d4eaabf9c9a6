import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair as generateLibp2pKey } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gossipAddressOf, gossipPeerIdProblem } from '../../common/gossip/binding.js';
import { loadOrCreateGossipKey } from '../../common/gossip/key.js';
import {
  anchorGossipSettings,
  CLUSTER_METADATA_TYP,
  type ClusterMetadataClaims,
  loadTrustAnchorConfig,
  signClusterMetadata,
  verifyClusterMetadata,
} from '../../trust-anchor/index.js';
import { meshErrorOf } from '../support/anchor-harness.js';

const ANCHOR = 'https://anchor.jjj.citymesh.example';
const NOW = 1_767_225_600;
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBcity\n-----END CERTIFICATE-----\n';

let privateKey: CryptoKey;
let jwk: JWK & { kid: string };
const peers: string[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const exported = await exportJWK(pair.publicKey);
  jwk = { ...exported, kid: await calculateJwkThumbprint(exported) };
  for (let i = 0; i < 3; i++) peers.push(peerIdFromPrivateKey(await generateLibp2pKey('Ed25519')).toString());
});

const node = (name: string, gossip: Record<string, unknown> = {}) => ({
  name,
  spiffe_id: `spiffe://tianjin.jjj.citymesh/node/${name}`,
  grpc_endpoint: `${name}.tianjin.example:7443`,
  https_endpoint: 'https://tianjin.jjj.citymesh.example',
  ...gossip,
});

/** Valid metadata claims around the given nodes and top-level extras. */
function claims(nodes: Record<string, unknown>[], extra: Record<string, unknown> = {}): ClusterMetadataClaims {
  return {
    iss: ANCHOR,
    sub: ANCHOR,
    cluster: 'jjj',
    version: 3,
    iat: NOW - 60,
    exp: NOW + 3_000,
    anchor_keys: { keys: [jwk] },
    members: [
      {
        city: 'tianjin',
        entity_id: 'https://tianjin.jjj.citymesh.example',
        region_code: '120000',
        trust_domain: 'tianjin.jjj.citymesh',
        federation_jwks: { keys: [{ kty: 'EC', kid: 'city-key' }] },
        ca_certificates: [PEM],
        nodes: nodes as ClusterMetadataClaims['members'][number]['nodes'],
      },
    ],
    parameters: { metadata_lifetime_seconds: 3_600, certificate_lifetime_hours: 24 },
    revocations: [],
    ...extra,
  };
}

/** Signs without the signer's schema check, as a forger or a buggy anchor would. */
function signRaw(payload: ClusterMetadataClaims): Promise<string> {
  return new SignJWT(payload as Record<string, unknown>)
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: CLUSTER_METADATA_TYP })
    .sign(privateKey);
}

const verify = async (payload: ClusterMetadataClaims) =>
  verifyClusterMetadata(await signRaw(payload), {
    anchorKeys: { keys: [jwk] },
    now: NOW,
    expectedCluster: 'jjj',
    expectedIssuer: ANCHOR,
  });

const bound = (peer: string, port = 7022) => ({ gossip_peer_id: peer, gossip_address: `/ip4/127.0.0.1/tcp/${port}` });
const anchorClaim = (peer: string) => ({ gossip: { anchor_peer_id: peer, anchor_address: '/ip4/127.0.0.1/tcp/7002' } });

describe('cluster metadata with gossip bindings', () => {
  it('verifies without any binding, with node bindings, and with the anchor claim', async () => {
    await expect(verify(claims([node('n1'), node('n2')]))).resolves.toMatchObject({ version: 3 });
    const verified = await verify(claims([node('n1', bound(peers[0]!)), node('n2')], anchorClaim(peers[1]!)));
    expect(verified.metadata.members[0]?.nodes[0]).toMatchObject(bound(peers[0]!));
    expect(verified.metadata.gossip).toEqual(anchorClaim(peers[1]!).gossip);
  });

  // Functions: the table is read before beforeAll has made the peer ids.
  it.each<[string, () => ClusterMetadataClaims, string, string]>([
    [
      'a node peer id without an address',
      () => claims([node('n1', { gossip_peer_id: peers[0] })]),
      'members.0.nodes.0.gossip_address',
      'gossip-binding',
    ],
    [
      'a node address without a peer id',
      () => claims([node('n1', { gossip_address: '/ip4/127.0.0.1/tcp/7022' })]),
      'members.0.nodes.0.gossip_peer_id',
      'gossip-binding',
    ],
    [
      'a node peer id that is not an Ed25519 peer id',
      () =>
        claims([node('n1', { ...bound(peers[0]!), gossip_peer_id: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' })]),
      'members.0.nodes.0.gossip_peer_id',
      'gossip-peer-id',
    ],
    [
      'a node address that is not host and TCP port',
      () => claims([node('n1', { ...bound(peers[0]!), gossip_address: '/ip4/127.0.0.1/tcp/7022/ws' })]),
      'members.0.nodes.0.gossip_address',
      'gossip-address',
    ],
    [
      'two nodes with one peer id',
      () => claims([node('n1', bound(peers[0]!)), node('n2', bound(peers[0]!, 7032))]),
      'members.0.nodes.1.gossip_peer_id',
      'duplicate-gossip-peer-id',
    ],
    [
      "a node with the anchor's peer id",
      () => claims([node('n1', bound(peers[1]!))], anchorClaim(peers[1]!)),
      'members.0.nodes.0.gossip_peer_id',
      'duplicate-gossip-peer-id',
    ],
    [
      'an anchor claim without its address',
      () => claims([node('n1')], { gossip: { anchor_peer_id: peers[1] } }),
      'gossip.anchor_address',
      'schema-invalid_type',
    ],
    [
      'an anchor claim with a malformed peer id',
      () => claims([node('n1')], { gossip: { ...anchorClaim(peers[1]!).gossip, anchor_peer_id: 'anchor' } }),
      'gossip.anchor_peer_id',
      'gossip-peer-id',
    ],
    [
      'an anchor claim that is not an object',
      () => claims([node('n1')], { gossip: '/ip4/127.0.0.1/tcp/7002' }),
      'gossip',
      'schema-invalid_type',
    ],
  ])('refuses %s as TOKEN_MALFORMED naming the claim', async (_what, make, claim, rule) => {
    const err = await meshErrorOf(verify(make()));
    expect(err.code).toBe('TOKEN_MALFORMED');
    expect(err.details).toMatchObject({ claim, rule });
    // The anchor's signer holds the same line: it never signs what verifiers refuse.
    const signing = await meshErrorOf(signClusterMetadata(make(), { kid: jwk.kid, privateKey, alg: 'ES256' }));
    expect(signing.code).toBe('MALFORMED_REQUEST');
    expect(signing.details).toMatchObject({ claim, rule });
  });
});

describe('gossip peer ids', () => {
  it('are accepted in base58 only: CID spellings of the same Ed25519 ids are refused', async () => {
    for (let i = 0; i < 40; i++) {
      const peerId = peerIdFromPrivateKey(await generateLibp2pKey('Ed25519'));
      expect(gossipPeerIdProblem(peerId.toString())).toBeUndefined();
      expect(gossipPeerIdProblem(peerId.toCID().toString())).toMatch(/base58 peer id/);
    }
  });
});

describe('gossip addresses from hosts', () => {
  it.each([
    ['localhost', 7112, '/ip4/127.0.0.1/tcp/7112'],
    ['127.0.0.1', 7112, '/ip4/127.0.0.1/tcp/7112'],
    ['10.0.0.7', 9000, '/ip4/10.0.0.7/tcp/9000'],
    ['[::1]', 7112, '/ip6/::1/tcp/7112'],
    ['0:0:0:0:0:0:0:1', 7112, '/ip6/::1/tcp/7112'],
    ['node-1.tianjin.example', 7112, '/dns4/node-1.tianjin.example/tcp/7112'],
  ])('publishes %s port %d as %s', (host, port, expected) => {
    expect(gossipAddressOf(host, port)).toBe(expected);
  });

  it.each([
    ['a port above 65535', 'localhost', 65_536],
    ['port 0', 'localhost', 0],
    ['a host that is no DNS name', 'tian jin', 7112],
  ])('refuses %s naming the field', async (_what, host, port) => {
    const err = await meshErrorOf(() => gossipAddressOf(host, port, 'gossip-port'));
    expect(err.code).toBe('MALFORMED_REQUEST');
    expect(err.details.field).toBe('gossip-port');
  });
});

describe("the anchor's gossip settings", () => {
  const dir = mkdtempSync(join(tmpdir(), 'citymesh-anchor-gossip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = (anchor: Record<string, unknown>) =>
    loadTrustAnchorConfig({
      anchor: {
        cluster: 'jjj',
        entityId: 'https://localhost:7000',
        listen: { host: '127.0.0.1', port: 7000 },
        dataDir: dir,
        ...anchor,
      },
    });

  it('are absent for an anchor configured without gossip (folders made before gossip)', () => {
    expect(anchorGossipSettings(dir, config({}))).toBeUndefined();
  });

  it('name the key file, the listen address and what metadata publishes', async () => {
    const { peerId } = await loadOrCreateGossipKey(join(dir, 'gossip-key'));
    expect(anchorGossipSettings(dir, config({ gossip: { port: 7002 } }))).toEqual({
      keyFile: join(dir, 'gossip-key'),
      listenAddress: '/ip4/127.0.0.1/tcp/7002',
      binding: { peerId, address: '/ip4/127.0.0.1/tcp/7002' },
    });
    // Published under the entity id's host, as the anchor's endpoint URLs are; listening where configured.
    const remote = config({
      gossip: { port: 7002 },
      entityId: 'https://anchor.jjj.citymesh.example',
      listen: { host: '0.0.0.0', port: 7000 },
    });
    expect(anchorGossipSettings(dir, remote)).toMatchObject({
      listenAddress: '/ip4/0.0.0.0/tcp/7002',
      binding: { address: '/dns4/anchor.jjj.citymesh.example/tcp/7002' },
    });
  });

  it('refuse a configured port whose key file is missing, or a damaged key, with INVALID_CONFIG', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'citymesh-anchor-nokey-'));
    try {
      const missing = await meshErrorOf(() => anchorGossipSettings(empty, config({ gossip: { port: 7002 } })));
      expect(missing.code).toBe('INVALID_CONFIG');
      expect(missing.details.field).toBe('gossip-key');
      writeFileSync(join(empty, 'gossip-key'), 'not a key\n');
      const damaged = await meshErrorOf(() => anchorGossipSettings(empty, config({ gossip: { port: 7002 } })));
      expect(damaged.code).toBe('INVALID_CONFIG');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuse a gossip port equal to the HTTPS port', async () => {
    const err = await meshErrorOf(() => config({ gossip: { port: 7000 } }));
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain('anchor.gossip.port');
  });
});
