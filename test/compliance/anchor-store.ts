import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../common/errors/registry.js';
import type {
  AnchorIdentity,
  AnchorMember,
  AnchorNode,
  AnchorStore,
  JoinTokenRecord,
  MetadataVersion,
  Revocation,
} from '../../common/stores/anchor-store.js';
import { hex64 } from './fixtures.js';
import { at, expectMeshError, type OpenStore, withStore } from './support.js';

const CLUSTER = 'jjj';

function anIdentity(overrides: Partial<AnchorIdentity> = {}): AnchorIdentity {
  return {
    cluster: CLUSTER,
    entityId: 'https://anchor.jjj.citymesh.example',
    rootCertificatePem: '-----BEGIN CERTIFICATE-----\nMIIBroot\n-----END CERTIFICATE-----\n',
    createdAt: at(0),
    ...overrides,
  };
}

function aToken(overrides: Partial<JoinTokenRecord> = {}): JoinTokenRecord {
  const tokenId = overrides.tokenId ?? 'tok-1';
  return {
    tokenId,
    city: 'tianjin',
    secretSha256: hex64(`secret of ${tokenId}`),
    createdAt: at(0),
    expiresAt: at(3600),
    ...overrides,
  };
}

function aNode(city = 'tianjin', name = 'n1', overrides: Partial<AnchorNode> = {}): AnchorNode {
  return {
    city,
    name,
    spiffeId: `spiffe://${city}.${CLUSTER}.citymesh/node/${name}`,
    entityId: `https://${name}.${city}.${CLUSTER}.citymesh.example`,
    grpcEndpoint: `${name}.${city}.example:8443`,
    federationJwks: [
      {
        kty: 'EC',
        crv: 'P-256',
        kid: `fed-${city}-${name}`,
        x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
        y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
      },
    ],
    caCertificatePem: `-----BEGIN CERTIFICATE-----\nMIIB${name}\n-----END CERTIFICATE-----\n`,
    caSerial: hex64(`${city}/${name}`).slice(0, 16),
    enrolledAt: at(10),
    ...overrides,
  };
}

/** Fixed gossip identities: the store keeps them as given, the anchor checks their format. */
const PEER_A = '12D3KooWLThXCv5AErpuqtV78rfzektijYAKaZj36FuBpC52XYg1';
const PEER_B = '12D3KooWJv8gtKybEQPMg84ZUDXEZB6afoQxhzSQW8nXWerF7yw4';

function gossiping(node: AnchorNode, peerId: string, port = 7112): AnchorNode {
  return { ...node, gossipPeerId: peerId, gossipAddress: `/ip4/127.0.0.1/tcp/${port}` };
}

function aMember(city = 'tianjin', overrides: Partial<Omit<AnchorMember, 'nodes'>> = {}): Omit<AnchorMember, 'nodes'> {
  return { city, regionCode: '120000', trustDomain: `${city}.${CLUSTER}.citymesh`, joinedAt: at(10), ...overrides };
}

function aMetadata(version: number, overrides: Partial<MetadataVersion> = {}): MetadataVersion {
  const payload = Buffer.from(JSON.stringify({ iss: 'https://anchor.jjj.citymesh.example', version })).toString(
    'base64url',
  );
  return {
    version,
    jwt: `eyJhbGciOiJFUzI1NiJ9.${payload}.sig-${version}`,
    issuedAt: at(version),
    expiresAt: at(version + 86_400),
    ...overrides,
  };
}

function aRevocation(version: number, overrides: Partial<Revocation> = {}): Revocation {
  return {
    kind: 'node',
    id: 'spiffe://tianjin.jjj.citymesh/node/n1',
    reason: 'key compromise',
    revokedAt: at(100),
    version,
    ...overrides,
  };
}

type EnrolInput = Parameters<AnchorStore['enrol']>[0];

function anEnrolment(
  tokenId: string,
  node: AnchorNode,
  version: number,
  overrides: Partial<EnrolInput> = {},
): EnrolInput {
  return {
    tokenId,
    usedAt: node.enrolledAt,
    member: aMember(node.city),
    node,
    metadata: aMetadata(version),
    ...overrides,
  };
}

/** Issues a token for `node`'s city and enrols it as `version`. */
async function enrolNode(anchor: AnchorStore, tokenId: string, node: AnchorNode, version: number): Promise<void> {
  await anchor.putJoinToken(aToken({ tokenId, city: node.city }));
  await anchor.enrol(anEnrolment(tokenId, node, version));
}

/** Everything a refused write must leave as it was. */
async function snapshot(anchor: AnchorStore, tokenIds: readonly string[]) {
  return {
    members: await anchor.listMembers(),
    revocations: await anchor.listRevocations(),
    latest: await anchor.latestMetadata(),
    tokens: await Promise.all(tokenIds.map((id) => anchor.getJoinToken(id))),
  };
}

/** Runs the {@link AnchorStore} contract against one implementation. */
export function describeAnchorStoreCompliance(name: string, open: OpenStore<AnchorStore>): void {
  describe(`AnchorStore compliance: ${name}`, () => {
    const run = <R>(body: (store: AnchorStore) => Promise<R>) => withStore(open, body);

    it('starts empty: no identity, members, revocations or metadata', () =>
      run(async (anchor) => {
        expect(await anchor.getIdentity()).toBeUndefined();
        expect(await anchor.getJoinToken('tok-1')).toBeUndefined();
        expect(await anchor.getMember('tianjin')).toBeUndefined();
        expect(await anchor.listMembers()).toEqual([]);
        expect(await anchor.listRevocations()).toEqual([]);
        expect(await anchor.latestMetadata()).toBeUndefined();
        expect(await anchor.getMetadata(1)).toBeUndefined();
      }));

    describe('identity', () => {
      it('reads back the identity field for field', () =>
        run(async (anchor) => {
          await anchor.putIdentity(anIdentity());
          expect(await anchor.getIdentity()).toEqual(anIdentity());
        }));

      it('treats writing the identical identity again as a no-op (a retried anchor init)', () =>
        run(async (anchor) => {
          await anchor.putIdentity(anIdentity());
          await anchor.putIdentity(anIdentity());
          expect(await anchor.getIdentity()).toEqual(anIdentity());
        }));

      it.each<[string, Partial<AnchorIdentity>]>([
        ['another cluster', { cluster: 'yrd' }],
        ['another entity id', { entityId: 'https://evil.example' }],
        [
          'another root certificate',
          { rootCertificatePem: '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n' },
        ],
        ['another creation time', { createdAt: at(1) }],
      ])('refuses an identity with %s once one is written, and keeps the first', (_what, overrides) =>
        run(async (anchor) => {
          await anchor.putIdentity(anIdentity());
          await expectMeshError(anchor.putIdentity(anIdentity(overrides)), 'ALREADY_EXISTS');
          expect(await anchor.getIdentity()).toEqual(anIdentity());
        }),
      );

      it.each<[string, Partial<AnchorIdentity>]>([
        ['an empty cluster', { cluster: '' }],
        ['an empty entity id', { entityId: '' }],
        ['an invalid creation time', { createdAt: new Date(Number.NaN) }],
      ])('refuses %s as malformed and writes nothing', (_what, overrides) =>
        run(async (anchor) => {
          await expectMeshError(anchor.putIdentity(anIdentity(overrides)), 'MALFORMED_REQUEST');
          expect(await anchor.getIdentity()).toBeUndefined();
        }),
      );

      it('does not let a caller change the identity by mutating what it read', () =>
        run(async (anchor) => {
          await anchor.putIdentity(anIdentity());
          (await anchor.getIdentity())?.createdAt.setTime(0);
          expect((await anchor.getIdentity())?.createdAt).toEqual(at(0));
        }));
    });

    describe('join tokens', () => {
      it('reads back a new token, unused', () =>
        run(async (anchor) => {
          await anchor.putJoinToken(aToken());
          const stored = await anchor.getJoinToken('tok-1');
          expect(stored).toEqual(aToken());
          expect(stored).not.toHaveProperty('usedAt');
          expect(stored).not.toHaveProperty('usedBy');
        }));

      it.each<[string, Partial<JoinTokenRecord>]>([
        ['an identical token', {}],
        ['a token for another city', { city: 'beijing' }],
      ])('refuses %s under an existing token id and keeps the original', (_what, overrides) =>
        run(async (anchor) => {
          await anchor.putJoinToken(aToken());
          await expectMeshError(anchor.putJoinToken(aToken(overrides)), 'ALREADY_EXISTS');
          expect(await anchor.getJoinToken('tok-1')).toEqual(aToken());
        }),
      );

      it('refuses to overwrite a used token by issuing it again', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', aNode(), 1);
          const used = await anchor.getJoinToken('tok-1');
          await expectMeshError(anchor.putJoinToken(aToken()), 'ALREADY_EXISTS');
          expect(await anchor.getJoinToken('tok-1')).toEqual(used);
        }));

      it.each<[string, Partial<JoinTokenRecord>]>([
        ['a token that is already used', { usedAt: at(5), usedBy: 'spiffe://tianjin.jjj.citymesh/node/n1' }],
        ['a secret hash that is not 64 lower-case hex digits', { secretSha256: 'ABCDEF' }],
        ['an empty city', { city: '' }],
        ['an invalid expiry', { expiresAt: new Date(Number.NaN) }],
      ])('refuses %s as malformed and stores nothing', (_what, overrides) =>
        run(async (anchor) => {
          await expectMeshError(anchor.putJoinToken(aToken(overrides)), 'MALFORMED_REQUEST');
          expect(await anchor.getJoinToken('tok-1')).toBeUndefined();
        }),
      );
    });

    describe('enrol', () => {
      it('uses the token, creates the member with its node, and publishes the metadata, together', () =>
        run(async (anchor) => {
          await anchor.putJoinToken(aToken());
          const node = aNode();
          await anchor.enrol(anEnrolment('tok-1', node, 1, { usedAt: at(11) }));
          expect(await anchor.getJoinToken('tok-1')).toEqual({ ...aToken(), usedAt: at(11), usedBy: node.spiffeId });
          const member = { ...aMember(), nodes: [node] };
          expect(await anchor.getMember('tianjin')).toEqual(member);
          expect(await anchor.listMembers()).toEqual([member]);
          expect(await anchor.latestMetadata()).toEqual(aMetadata(1));
          expect(await anchor.getMetadata(1)).toEqual(aMetadata(1));
        }));

      it('adds a second node to an existing member and keeps the member as it first joined', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', aNode('tianjin', 'n2'), 1);
          await anchor.putJoinToken(aToken({ tokenId: 'tok-2' }));
          const second = aNode('tianjin', 'n1', { enrolledAt: at(20) });
          await anchor.enrol(
            anEnrolment('tok-2', second, 2, {
              member: aMember('tianjin', { regionCode: '120100', joinedAt: at(20) }),
            }),
          );
          expect(await anchor.getMember('tianjin')).toEqual({ ...aMember(), nodes: [second, aNode('tianjin', 'n2')] });
          expect((await anchor.latestMetadata())?.version).toBe(2);
        }));

      it('replaces a node enrolled again under the same name with a new token', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', aNode(), 1);
          const renewed = aNode('tianjin', 'n1', {
            grpcEndpoint: 'n1-new.tianjin.example:8443',
            federationJwks: [
              { kty: 'OKP', crv: 'Ed25519', kid: 'fed-new', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' },
            ],
            caCertificatePem: '-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n',
            caSerial: '0badc0de',
            enrolledAt: at(50),
          });
          await enrolNode(anchor, 'tok-2', renewed, 2);
          expect(await anchor.getMember('tianjin')).toEqual({ ...aMember(), nodes: [renewed] });
          expect((await anchor.getJoinToken('tok-1'))?.usedAt).toEqual(at(10));
          expect((await anchor.getJoinToken('tok-2'))?.usedAt).toEqual(at(50));
        }));

      it("keeps a node's gossip peer id and address and reads them back; a node without them has neither", () =>
        run(async (anchor) => {
          const gossiper = gossiping(aNode('tianjin', 'n1'), PEER_A);
          await enrolNode(anchor, 'tok-1', gossiper, 1);
          await enrolNode(anchor, 'tok-2', aNode('tianjin', 'n2'), 2);
          const nodes = (await anchor.getMember('tianjin'))?.nodes ?? [];
          expect(nodes).toEqual([gossiper, aNode('tianjin', 'n2')]);
          expect(nodes[1]).not.toHaveProperty('gossipPeerId');
          expect(nodes[1]).not.toHaveProperty('gossipAddress');
          expect((await anchor.listMembers())[0]?.nodes[0]).toEqual(gossiper);
        }));

      it("replaces a node's gossip binding when it enrols again, and drops it when it enrols without one", () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', gossiping(aNode(), PEER_A), 1);
          const moved = gossiping(aNode('tianjin', 'n1', { enrolledAt: at(20) }), PEER_B, 7122);
          await enrolNode(anchor, 'tok-2', moved, 2);
          expect((await anchor.getMember('tianjin'))?.nodes).toEqual([moved]);
          // The same node may keep its peer id across enrolments.
          const same = gossiping(aNode('tianjin', 'n1', { enrolledAt: at(30) }), PEER_B, 7132);
          await enrolNode(anchor, 'tok-3', same, 3);
          expect((await anchor.getMember('tianjin'))?.nodes).toEqual([same]);
          await enrolNode(anchor, 'tok-4', aNode('tianjin', 'n1', { enrolledAt: at(40) }), 4);
          expect((await anchor.getMember('tianjin'))?.nodes).toEqual([aNode('tianjin', 'n1', { enrolledAt: at(40) })]);
          // Once dropped, the peer id is free for another node.
          await enrolNode(anchor, 'tok-5', gossiping(aNode('beijing', 'n1'), PEER_B), 5);
          expect((await anchor.getMember('beijing'))?.nodes[0]?.gossipPeerId).toBe(PEER_B);
        }));

      it('refuses a gossip peer id another node holds with ALREADY_EXISTS naming it, and writes nothing', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', gossiping(aNode('tianjin', 'n1'), PEER_A), 1);
          await anchor.putJoinToken(aToken({ tokenId: 'tok-2', city: 'beijing' }));
          await anchor.putJoinToken(aToken({ tokenId: 'tok-3' }));
          const before = await snapshot(anchor, ['tok-2', 'tok-3']);
          for (const [tokenId, node] of [
            ['tok-2', aNode('beijing', 'n1')],
            ['tok-3', aNode('tianjin', 'n2')],
          ] as const) {
            const err = await expectMeshError(
              anchor.enrol(anEnrolment(tokenId, gossiping(node, PEER_A, 7200), 2)),
              'ALREADY_EXISTS',
            );
            expect(err.details).toMatchObject({
              field: 'node.gossipPeerId',
              boundTo: 'spiffe://tianjin.jjj.citymesh/node/n1',
            });
          }
          expect(await snapshot(anchor, ['tok-2', 'tok-3'])).toEqual(before);
          // The tokens were not burnt: with its own key the node enrols.
          await anchor.enrol(anEnrolment('tok-2', gossiping(aNode('beijing', 'n1'), PEER_B), 2));
          expect((await anchor.latestMetadata())?.version).toBe(2);
        }));

      it('keeps the gossip binding through a city CA renewal', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', gossiping(aNode(), PEER_A), 1);
          await anchor.renewNodeCa(
            { city: 'tianjin', name: 'n1', caCertificatePem: 'NEW', caSerial: '01' },
            aMetadata(2),
          );
          expect((await anchor.getMember('tianjin'))?.nodes[0]).toMatchObject({
            caCertificatePem: 'NEW',
            gossipPeerId: PEER_A,
            gossipAddress: '/ip4/127.0.0.1/tcp/7112',
          });
        }));

      it('refuses a token used twice with JOIN_TOKEN_USED and writes nothing', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', aNode('tianjin', 'n1'), 1);
          const before = await snapshot(anchor, ['tok-1']);
          await expectMeshError(anchor.enrol(anEnrolment('tok-1', aNode('tianjin', 'n2'), 2)), 'JOIN_TOKEN_USED');
          await expectMeshError(
            anchor.enrol(anEnrolment('tok-1', aNode('beijing', 'n1'), 2, { usedAt: at(99) })),
            'JOIN_TOKEN_USED',
          );
          expect(await snapshot(anchor, ['tok-1'])).toEqual(before);
          expect(await anchor.getMember('beijing')).toBeUndefined();
          expect(await anchor.getMetadata(2)).toBeUndefined();
        }));

      it('refuses a token the anchor never issued with JOIN_TOKEN_INVALID and writes nothing', () =>
        run(async (anchor) => {
          await expectMeshError(anchor.enrol(anEnrolment('forged', aNode(), 1)), 'JOIN_TOKEN_INVALID');
          expect(await snapshot(anchor, ['forged'])).toEqual({
            members: [],
            revocations: [],
            latest: undefined,
            tokens: [undefined],
          });
        }));

      it.each<[string, number]>([
        ['skips a version', 4],
        ['repeats the latest version', 2],
        ['goes back to an older version', 1],
      ])('refuses an enrolment whose metadata %s with VERSION_CONFLICT and writes nothing', (_what, version) =>
        run(async (anchor) => {
          await anchor.publishMetadata(aMetadata(1));
          await anchor.publishMetadata(aMetadata(2));
          await anchor.putJoinToken(aToken());
          const before = await snapshot(anchor, ['tok-1']);
          const err = await expectMeshError(
            anchor.enrol(
              anEnrolment('tok-1', aNode(), version, { metadata: aMetadata(version, { jwt: 'other.jwt.x' }) }),
            ),
            'VERSION_CONFLICT',
          );
          expect(err.details).toMatchObject({ version, expectedVersion: 3 });
          expect(await snapshot(anchor, ['tok-1'])).toEqual(before);
          expect((await anchor.getJoinToken('tok-1'))?.usedAt).toBeUndefined();
          expect(await anchor.getMember('tianjin')).toBeUndefined();
          // The token was not burnt: the retry with the right version succeeds.
          await anchor.enrol(anEnrolment('tok-1', aNode(), 3));
          expect((await anchor.latestMetadata())?.version).toBe(3);
        }),
      );

      it.each<[string, (input: EnrolInput) => EnrolInput]>([
        ['a node of another city than the member', (e) => ({ ...e, node: aNode('beijing') })],
        [
          'a federation key without kty',
          (e) => ({ ...e, node: { ...e.node, federationJwks: [{ crv: 'P-256' } as never] } }),
        ],
        ['federation keys that are not an array', (e) => ({ ...e, node: { ...e.node, federationJwks: {} as never } })],
        ['an empty node name', (e) => ({ ...e, node: { ...e.node, name: '' } })],
        ['metadata version 0', (e) => ({ ...e, metadata: aMetadata(0) })],
        ['an invalid use time', (e) => ({ ...e, usedAt: new Date(Number.NaN) })],
        ['a gossip peer id without an address', (e) => ({ ...e, node: { ...e.node, gossipPeerId: PEER_A } })],
        [
          'a gossip address without a peer id',
          (e) => ({ ...e, node: { ...e.node, gossipAddress: '/ip4/127.0.0.1/tcp/7112' } }),
        ],
        ['an empty gossip peer id', (e) => ({ ...e, node: { ...gossiping(e.node, PEER_A), gossipPeerId: '' } })],
      ])('refuses %s as malformed and writes nothing', (_what, tamper) =>
        run(async (anchor) => {
          await anchor.putJoinToken(aToken());
          await expectMeshError(anchor.enrol(tamper(anEnrolment('tok-1', aNode(), 1))), 'MALFORMED_REQUEST');
          expect(await snapshot(anchor, ['tok-1'])).toEqual({
            members: [],
            revocations: [],
            latest: undefined,
            tokens: [aToken()],
          });
        }),
      );

      it('lets only one of two enrolments with the same token succeed', () =>
        run(async (anchor) => {
          await anchor.putJoinToken(aToken());
          const results = await Promise.allSettled([
            anchor.enrol(anEnrolment('tok-1', aNode('tianjin', 'a'), 1)),
            anchor.enrol(anEnrolment('tok-1', aNode('tianjin', 'b'), 1)),
          ]);
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          expect((await anchor.getMember('tianjin'))?.nodes).toHaveLength(1);
          expect((await anchor.latestMetadata())?.version).toBe(1);
        }));

      it('lets only one of two enrolments publishing the same version succeed; the other keeps its token', () =>
        run(async (anchor) => {
          await anchor.putJoinToken(aToken({ tokenId: 'tok-a' }));
          await anchor.putJoinToken(aToken({ tokenId: 'tok-b' }));
          const results = await Promise.allSettled([
            anchor.enrol(anEnrolment('tok-a', aNode('tianjin', 'a'), 1)),
            anchor.enrol(anEnrolment('tok-b', aNode('tianjin', 'b'), 1)),
          ]);
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          const used = await Promise.all(['tok-a', 'tok-b'].map(async (id) => (await anchor.getJoinToken(id))?.usedAt));
          expect(used.filter((u) => u !== undefined)).toHaveLength(1);
        }));

      it('lists members in city order with their nodes in name order', () =>
        run(async (anchor) => {
          const nodes = [
            aNode('tianjin', 'n2'),
            aNode('beijing', 'n1'),
            aNode('tianjin', 'n1'),
            aNode('hebei-shijiazhuang', 'n3'),
            aNode('beijing', 'n0'),
          ];
          for (const [i, node] of nodes.entries()) await enrolNode(anchor, `tok-${i}`, node, i + 1);
          const members = await anchor.listMembers();
          expect(members.map((m) => [m.city, m.nodes.map((n) => n.name)])).toEqual([
            ['beijing', ['n0', 'n1']],
            ['hebei-shijiazhuang', ['n3']],
            ['tianjin', ['n1', 'n2']],
          ]);
          for (const member of members) expect(await anchor.getMember(member.city)).toEqual(member);
        }));

      it('does not let a caller change stored state by mutating a returned member', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', aNode(), 1);
          const member = (await anchor.getMember('tianjin')) as AnchorMember;
          member.joinedAt.setTime(0);
          member.nodes[0]?.enrolledAt.setTime(0);
          (member.nodes as AnchorNode[]).pop();
          expect(await anchor.getMember('tianjin')).toEqual({ ...aMember(), nodes: [aNode()] });
        }));
    });

    describe('city CA renewal', () => {
      it('gives the node its new CA, keeps the old one as previous, and publishes the metadata, together', () =>
        run(async (anchor) => {
          const node = aNode();
          await enrolNode(anchor, 'tok-1', node, 1);
          const renewal = { city: 'tianjin', name: 'n1', caCertificatePem: 'NEW-CA-PEM', caSerial: '0abc' };
          await anchor.renewNodeCa(renewal, aMetadata(2));
          const renewed = {
            ...node,
            caCertificatePem: 'NEW-CA-PEM',
            caSerial: '0abc',
            previousCaCertificatePem: node.caCertificatePem,
          };
          expect((await anchor.getMember('tianjin'))?.nodes).toEqual([renewed]);
          expect((await anchor.latestMetadata())?.version).toBe(2);
          await anchor.renewNodeCa({ ...renewal, caCertificatePem: 'NEWER', caSerial: '0abd' }, aMetadata(3));
          expect((await anchor.getMember('tianjin'))?.nodes[0]).toMatchObject({
            caCertificatePem: 'NEWER',
            previousCaCertificatePem: 'NEW-CA-PEM',
          });
        }));

      it('refuses an unknown node or a version out of order, and writes nothing', () =>
        run(async (anchor) => {
          const node = aNode();
          await enrolNode(anchor, 'tok-1', node, 1);
          const renewal = { city: 'tianjin', name: 'n9', caCertificatePem: 'NEW', caSerial: '01' };
          await expectMeshError(anchor.renewNodeCa(renewal, aMetadata(2)), 'MEMBER_NOT_FOUND');
          await expectMeshError(anchor.renewNodeCa({ ...renewal, name: 'n1' }, aMetadata(3)), 'VERSION_CONFLICT');
          expect((await anchor.getMember('tianjin'))?.nodes).toEqual([node]);
          expect((await anchor.latestMetadata())?.version).toBe(1);
        }));
    });

    describe('revocations', () => {
      it('appends each revocation with the metadata version that first carries it, listed in version order', () =>
        run(async (anchor) => {
          await enrolNode(anchor, 'tok-1', aNode(), 1);
          const node = aRevocation(2);
          const key = aRevocation(3, { kind: 'key', id: 'fed-tianjin-n1', reason: 'rollover' });
          const city = aRevocation(4, { kind: 'city', id: 'tianjin', reason: 'left the cluster' });
          await anchor.revoke(node, aMetadata(2));
          await anchor.revoke(key, aMetadata(3));
          await anchor.revoke(city, aMetadata(4));
          expect(await anchor.listRevocations()).toEqual([node, key, city]);
          expect(await anchor.latestMetadata()).toEqual(aMetadata(4));
          expect(await anchor.getMetadata(3)).toEqual(aMetadata(3));
        }));

      it.each<[string, number]>([
        ['skips a version', 3],
        ['repeats the latest version', 1],
      ])('refuses a revocation whose metadata %s with VERSION_CONFLICT and writes nothing', (_what, version) =>
        run(async (anchor) => {
          await anchor.publishMetadata(aMetadata(1));
          await expectMeshError(anchor.revoke(aRevocation(version), aMetadata(version)), 'VERSION_CONFLICT');
          expect(await anchor.listRevocations()).toEqual([]);
          expect(await anchor.latestMetadata()).toEqual(aMetadata(1));
        }),
      );

      it('refuses revoking the same thing twice with ALREADY_EXISTS and writes nothing', () =>
        run(async (anchor) => {
          await anchor.revoke(aRevocation(1), aMetadata(1));
          await expectMeshError(anchor.revoke(aRevocation(2, { reason: 'again' }), aMetadata(2)), 'ALREADY_EXISTS');
          expect(await anchor.listRevocations()).toEqual([aRevocation(1)]);
          expect(await anchor.latestMetadata()).toEqual(aMetadata(1));
        }));

      it.each<[string, Revocation, MetadataVersion]>([
        ['a revocation naming another version than its metadata', aRevocation(2), aMetadata(1)],
        ['an unknown kind', aRevocation(1, { kind: 'device' as Revocation['kind'] }), aMetadata(1)],
        ['an empty id', aRevocation(1, { id: '' }), aMetadata(1)],
        ['metadata without a JWT', aRevocation(1), aMetadata(1, { jwt: '' })],
      ])('refuses %s as malformed and writes nothing', (_what, revocation, metadata) =>
        run(async (anchor) => {
          await expectMeshError(anchor.revoke(revocation, metadata), 'MALFORMED_REQUEST');
          expect(await anchor.listRevocations()).toEqual([]);
          expect(await anchor.latestMetadata()).toBeUndefined();
        }),
      );
    });

    describe('metadata versions', () => {
      it('appends versions from 1 and reads each back; latestMetadata is the highest', () =>
        run(async (anchor) => {
          for (let v = 1; v <= 5; v++) await anchor.publishMetadata(aMetadata(v));
          for (let v = 1; v <= 5; v++) expect(await anchor.getMetadata(v)).toEqual(aMetadata(v));
          expect(await anchor.latestMetadata()).toEqual(aMetadata(5));
          expect(await anchor.getMetadata(6)).toBeUndefined();
        }));

      it.each<[string, number, number]>([
        ['a first version other than 1', 0, 2],
        ['a gap', 2, 4],
        ['a repeat', 2, 2],
        ['an older version', 2, 1],
      ])('refuses %s with VERSION_CONFLICT and keeps the published versions', (_what, published, version) =>
        run(async (anchor) => {
          for (let v = 1; v <= published; v++) await anchor.publishMetadata(aMetadata(v));
          const err = await expectMeshError(
            anchor.publishMetadata(aMetadata(version, { jwt: 'x.y.z' })),
            'VERSION_CONFLICT',
          );
          expect(err.details).toMatchObject({ version, expectedVersion: published + 1 });
          expect(await anchor.latestMetadata()).toEqual(published === 0 ? undefined : aMetadata(published));
          expect(await anchor.getMetadata(version)).toEqual(version <= published ? aMetadata(version) : undefined);
        }),
      );

      it('refuses reading version 0 as malformed', () =>
        run(async (anchor) => {
          await expectMeshError(anchor.getMetadata(0), 'MALFORMED_REQUEST');
        }));

      it('lets only one of two publishers of the same version succeed', () =>
        run(async (anchor) => {
          const results = await Promise.allSettled([
            anchor.publishMetadata(aMetadata(1, { jwt: 'a.a.a' })),
            anchor.publishMetadata(aMetadata(1, { jwt: 'b.b.b' })),
          ]);
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          expect((await anchor.latestMetadata())?.version).toBe(1);
        }));
    });

    it('keeps metadata versions contiguous and every used token with its node, under any mix of writes', async () => {
      type Op =
        | { kind: 'enrol'; token: number; node: number; skew: number }
        | { kind: 'revoke'; target: number; skew: number }
        | { kind: 'publish'; skew: number };
      const skew = fc.oneof(
        { weight: 4, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.constantFrom(-1, 1, 2) },
      );
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant('enrol' as const), token: fc.nat(5), node: fc.nat(3), skew }),
        fc.record({ kind: fc.constant('revoke' as const), target: fc.nat(3), skew }),
        fc.record({ kind: fc.constant('publish' as const), skew }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 20 }), (ops) =>
          run(async (anchor) => {
            // The oracle: what the store must hold after each accepted write.
            const tokens = new Map<string, string | undefined>(); // token id → spiffe id of the node it enrolled
            const nodes = new Map<string, string>(); // spiffe id → token that enrolled it last
            const revoked = new Set<string>();
            let latest = 0;
            for (let i = 0; i < 4; i++) {
              await anchor.putJoinToken(aToken({ tokenId: `t${i}` }));
              tokens.set(`t${i}`, undefined);
            }
            for (const [step, o] of ops.entries()) {
              const version = latest + 1 + o.skew;
              const metadata = aMetadata(Math.max(version, 1), { jwt: `step-${step}` });
              let expected: ErrorCode | undefined;
              let action: Promise<void>;
              if (o.kind === 'enrol') {
                const tokenId = `t${o.token}`;
                const node = aNode(o.node % 2 === 0 ? 'tianjin' : 'beijing', `n${o.node}`, { caSerial: `s${step}` });
                if (!tokens.has(tokenId)) expected = 'JOIN_TOKEN_INVALID';
                else if (tokens.get(tokenId) !== undefined) expected = 'JOIN_TOKEN_USED';
                else if (metadata.version !== latest + 1) expected = 'VERSION_CONFLICT';
                action = anchor.enrol(anEnrolment(tokenId, node, metadata.version, { metadata }));
                if (expected === undefined) {
                  tokens.set(tokenId, node.spiffeId);
                  nodes.set(node.spiffeId, `s${step}`);
                }
              } else if (o.kind === 'revoke') {
                const id = `key-${o.target}`;
                if (revoked.has(id)) expected = 'ALREADY_EXISTS';
                else if (metadata.version !== latest + 1) expected = 'VERSION_CONFLICT';
                action = anchor.revoke(aRevocation(metadata.version, { kind: 'key', id }), metadata);
                if (expected === undefined) revoked.add(id);
              } else {
                if (metadata.version !== latest + 1) expected = 'VERSION_CONFLICT';
                action = anchor.publishMetadata(metadata);
              }
              if (expected === undefined) {
                await action;
                latest++;
              } else await expectMeshError(action, expected);
            }
            const latestMetadata = await anchor.latestMetadata();
            expect(latestMetadata?.version ?? 0).toBe(latest);
            for (let v = 1; v <= latest; v++) expect((await anchor.getMetadata(v))?.version).toBe(v);
            for (const [tokenId, spiffeId] of tokens) {
              expect((await anchor.getJoinToken(tokenId))?.usedBy).toBe(spiffeId);
            }
            const stored = (await anchor.listMembers()).flatMap((m) => m.nodes);
            expect(new Map(stored.map((n) => [n.spiffeId, n.caSerial]))).toEqual(nodes);
            const revocations = await anchor.listRevocations();
            expect(new Set(revocations.map((r) => r.id))).toEqual(revoked);
            const versions = revocations.map((r) => r.version);
            expect(versions).toEqual([...versions].sort((a, b) => a - b));
          }),
        ),
        { numRuns: 25 },
      );
    });
  });
}
