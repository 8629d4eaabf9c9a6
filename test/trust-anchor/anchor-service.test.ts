import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMeshError } from '../../common/errors/mesh-error.js';
import type { PublicJwk } from '../../common/stores/index.js';
import { type NodeIdentity, nodePath, TrustState } from '../../nodes/index.js';
import { readNodeFile } from '../../nodes/trust/node-files.js';
import { openMemoryStores } from '../../stores/index.js';
import {
  activeKey,
  assertNotRevoked,
  type ClusterMetadataClaims,
  createCsr,
  type EnrolInput,
  exportPublicJwk,
  formatJoinToken,
  generateEcKeyPair,
  HISTORICAL_KEYS_TYP,
  type HistoricalKeysClaims,
  type JwkSet,
  keysWith,
  parseJoinToken,
  signClusterMetadata,
  signingKey,
  TrustAnchor,
  verifyCertificatePath,
  verifyClusterMetadata,
  verifyEntityStatement,
  verifyJws,
} from '../../trust-anchor/index.js';
import {
  ANCHOR_ENTITY_ID,
  cityEntityIdOf,
  codeOf,
  joinCity,
  joinWithToken,
  latestClaims,
  latestVersion,
  startTestAnchor,
  TEST_SETTINGS,
  TempDirs,
  type TestAnchor,
  wallStartedClock,
} from '../support/anchor-harness.js';

/** What a refused enrolment must leave untouched. */
async function snapshot(t: TestAnchor): Promise<{ version: number; members: string[] }> {
  const members = await t.stores.anchor.listMembers();
  return {
    version: await latestVersion(t),
    members: members.map((m) => `${m.city}:${m.nodes.map((n) => n.name).join(',')}`),
  };
}

// Keys are generated once for the file: the direct (in-process) enrolments share one CSR.
let csrPem = '';
let federationJwk: PublicJwk;

beforeAll(async () => {
  const ca = await generateEcKeyPair();
  csrPem = await createCsr({ keys: ca, subjectCn: 'citymesh test city CA' });
  const fed = await generateEcKeyPair();
  const jwk = await exportPublicJwk(fed.publicKey);
  federationJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: fed.kid, use: 'sig' };
});

/** An enrolment request as `joinCluster` would send it, for calling `anchor.enrol` directly. */
function enrolInput(token: string, city: string, nodeName = 'n1'): EnrolInput {
  return {
    joinToken: token,
    city,
    nodeName,
    caCsrPem: csrPem,
    entityId: cityEntityIdOf(city),
    federationJwks: [federationJwk],
    grpcEndpoint: `${city}.example:7443`,
  };
}

/** Invites and enrols `city` in-process (no HTTPS, no node folder). */
async function enrolDirect(anchor: TrustAnchor, city: string, nodeName = 'n1'): Promise<number> {
  const { token } = await anchor.invite(city);
  return (await anchor.enrol(enrolInput(token, city, nodeName))).metadataVersion;
}

/** The URI SANs of a certificate. */
function uriSans(pem: string): string[] {
  return (new X509Certificate(pem).subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length));
}

/** The PEM blocks of a file, in order. */
function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

describe('enrolment through joinCluster over HTTPS', () => {
  let t: TestAnchor;
  let beijing: { dir: string; identity: NodeIdentity };

  beforeAll(async () => {
    t = await startTestAnchor();
    beijing = await joinCity(t, dirs, 'beijing');
  });
  afterAll(() => t.stop());

  it('stores identity, bundle, city CA, node certificate, metadata and pins for a joined node', async () => {
    const { dir, identity } = beijing;
    for (const file of ['identity', 'bundle', 'cityCa', 'nodeCert', 'statement', 'metadata', 'pins'] as const) {
      expect(existsSync(nodePath(dir, file)), file).toBe(true);
    }
    expect(identity).toMatchObject({
      cluster: 'jjj',
      city: 'beijing',
      spiffeId: 'spiffe://beijing.jjj.citymesh/node/n1',
      anchorEntityId: ANCHOR_ENTITY_ID,
    });
    expect(JSON.parse(readNodeFile(dir, 'identity'))).toEqual(identity);
    expect(readNodeFile(dir, 'bundle').trim()).toBe(t.rootPem.trim());

    const [leaf, ...chain] = pemBlocks(readNodeFile(dir, 'nodeCert'));
    expect(chain.map((c) => c.trim())).toEqual([readNodeFile(dir, 'cityCa').trim()]);
    expect(uriSans(leaf!)).toEqual([identity.spiffeId]);
    const verified = verifyCertificatePath({
      leafPem: leaf!,
      chainPems: chain,
      rootPems: [t.rootPem],
      now: t.clock.now(),
      expected: { spiffeId: identity.spiffeId },
    });
    expect(verified).toMatchObject({ city: 'beijing', cluster: 'jjj', kind: 'node', name: 'n1' });

    const pins = JSON.parse(readNodeFile(dir, 'pins')) as JwkSet;
    const anchorKid = (await activeKey(t.stores.keys, 'federation')).stored.kid;
    expect(pins.keys.map((k) => k.kid)).toEqual([anchorKid]);
    const metadata = await verifyClusterMetadata(readNodeFile(dir, 'metadata'), {
      anchorKeys: pins,
      now: t.clock.nowSeconds(),
      expectedCluster: 'jjj',
      expectedIssuer: ANCHOR_ENTITY_ID,
    });
    expect(metadata.version).toBe(await latestVersion(t));
    expect(metadata.metadata.members.map((m) => m.city)).toEqual(['beijing']);
    await expect(
      verifyEntityStatement(readNodeFile(dir, 'statement'), {
        keys: pins,
        now: t.clock.nowSeconds(),
        expectedIss: ANCHOR_ENTITY_ID,
        expectedSub: cityEntityIdOf('beijing'),
      }),
    ).resolves.toMatchObject({ entityConfiguration: false });
  });

  it('refuses a join token used a second time with JOIN_TOKEN_USED', async () => {
    const { token } = await t.anchor.invite('tianjin');
    const join = () => joinWithToken(t, token, 'tianjin', { dir: dirs.make() });
    await join();
    const before = await snapshot(t);
    expect(await codeOf(join())).toBe('JOIN_TOKEN_USED');
    expect(await snapshot(t)).toEqual(before);
  });

  it('refuses a join token presented after its lifetime with JOIN_TOKEN_EXPIRED', async () => {
    // Its own anchor: moving the clock must not age the other tests' metadata.
    const fresh = await startTestAnchor();
    try {
      const { token } = await fresh.anchor.invite('tianjin');
      fresh.clock.advanceSeconds(TEST_SETTINGS.joinTokenLifetimeSeconds);
      const before = await snapshot(fresh);
      const dir = dirs.make();
      const code = await codeOf(joinWithToken(fresh, token, 'tianjin', { dir }));
      expect(code).toBe('JOIN_TOKEN_EXPIRED');
      expect(await snapshot(fresh)).toEqual(before);
      expect(existsSync(nodePath(dir, 'identity'))).toBe(false);
    } finally {
      await fresh.stop();
    }
  });

  // Both forms of "Tianjin's token used for Beijing" are JOIN_TOKEN_WRONG_CITY: the secret is
  // genuine, so the anchor may say which check failed (a wrong secret is JOIN_TOKEN_INVALID).
  it("refuses Tianjin's token presented with city beijing with JOIN_TOKEN_WRONG_CITY", async () => {
    const { token } = await t.anchor.invite('tianjin');
    const before = await snapshot(t);
    expect(await codeOf(t.anchor.enrol(enrolInput(token, 'beijing')))).toBe('JOIN_TOKEN_WRONG_CITY');
    expect(await snapshot(t)).toEqual(before);
  });

  it("refuses Tianjin's token whose city was edited to beijing with JOIN_TOKEN_WRONG_CITY", async () => {
    const { token, tokenId } = await t.anchor.invite('tianjin');
    const edited = formatJoinToken({ ...parseJoinToken(token), city: 'beijing' });
    expect(edited).not.toBe(token);
    const before = await snapshot(t);
    const code = await codeOf(joinWithToken(t, edited, 'beijing', { dir: dirs.make(), nodeName: 'n9' }));
    expect(code).toBe('JOIN_TOKEN_WRONG_CITY');
    expect(await snapshot(t)).toEqual(before);
    expect((await t.stores.anchor.getJoinToken(tokenId))?.usedAt).toBeUndefined();
  });

  it('refuses a join token with a forged secret with JOIN_TOKEN_INVALID', async () => {
    const { token } = await t.anchor.invite('shijiazhuang');
    const forged = formatJoinToken({ ...parseJoinToken(token), secret: randomBytes(32).toString('base64url') });
    const before = await snapshot(t);
    const code = await codeOf(joinWithToken(t, forged, 'shijiazhuang', { dir: dirs.make() }));
    expect(code).toBe('JOIN_TOKEN_INVALID');
    expect(await snapshot(t)).toEqual(before);
  });

  it('refuses a token from another anchor with TRUST_CHAIN_INVALID before creating anything', async () => {
    const other = await startTestAnchor({ clock: t.clock });
    try {
      const { token } = await other.anchor.invite('tangshan');
      const before = await snapshot(t);
      const dir = `${dirs.make()}/node`;
      const code = await codeOf(joinWithToken(t, token, 'tangshan', { dir }));
      expect(code).toBe('TRUST_CHAIN_INVALID');
      expect(existsSync(dir)).toBe(false);
      expect(await snapshot(t)).toEqual(before);
    } finally {
      await other.stop();
    }
  });

  it("never sends a valid token to an anchor whose root does not match the token's pin", async () => {
    // A genuine token of this anchor with the pin swapped: had joinCluster sent it, the
    // anchor would have enrolled the node and burned the token.
    const other = await startTestAnchor({ clock: t.clock });
    try {
      const { token, tokenId } = await t.anchor.invite('tangshan');
      const otherPin = parseJoinToken((await other.anchor.invite('tangshan')).token).rootPin;
      const repinned = formatJoinToken({ ...parseJoinToken(token), rootPin: otherPin });
      const before = await snapshot(t);
      const code = await codeOf(joinWithToken(t, repinned, 'tangshan', { dir: dirs.make() }));
      expect(code).toBe('TRUST_CHAIN_INVALID');
      expect((await t.stores.anchor.getJoinToken(tokenId))?.usedAt).toBeUndefined();
      expect(await snapshot(t)).toEqual(before);
    } finally {
      await other.stop();
    }
  });
});

describe('cluster metadata versions', () => {
  it('publishes exactly one new version for each enrol, revoke and rotate', async () => {
    const clock = wallStartedClock();
    const stores = openMemoryStores();
    const anchor = await TrustAnchor.initialize({ stores, clock }, TEST_SETTINGS, {
      cluster: 'jjj',
      entityId: ANCHOR_ENTITY_ID,
    });
    const latest = async () => (await stores.anchor.latestMetadata())!.version;
    expect(await latest()).toBe(1);
    expect(await enrolDirect(anchor, 'beijing')).toBe(2);
    expect(await enrolDirect(anchor, 'tianjin')).toBe(3);
    expect((await anchor.revoke('city', 'tianjin', 'compromised')).version).toBe(4);
    expect((await anchor.rotate('publish')).version).toBe(5);
    clock.advanceSeconds(TEST_SETTINGS.metadataLifetimeSeconds);
    expect((await anchor.rotate('activate')).version).toBe(6);
    expect(await latest()).toBe(6);
    for (let v = 1; v <= 6; v++) {
      const stored = await stores.anchor.getMetadata(v);
      expect((decodeJwt(stored!.jwt) as unknown as ClusterMetadataClaims).version).toBe(v);
    }
    // Issuing an invitation signs nothing.
    await anchor.invite('shijiazhuang');
    expect(await latest()).toBe(6);
  });

  it('only ever grows the version, by one per change and not at all on a refused change', async () => {
    const cities = ['beijing', 'tianjin', 'shijiazhuang'] as const;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('enrol' as const), city: fc.constantFrom(...cities) }),
      fc.record({ kind: fc.constant('revoke' as const), city: fc.constantFrom(...cities) }),
      fc.record({ kind: fc.constantFrom('publish' as const, 'activate' as const) }),
      fc.record({
        kind: fc.constant('wait' as const),
        seconds: fc.integer({ min: 0, max: TEST_SETTINGS.metadataLifetimeSeconds }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
        const clock = wallStartedClock();
        const stores = openMemoryStores();
        const anchor = await TrustAnchor.initialize({ stores, clock }, TEST_SETTINGS, {
          cluster: 'jjj',
          entityId: ANCHOR_ENTITY_ID,
        });
        let version = 1;
        for (const o of ops) {
          let expected = version + 1;
          try {
            switch (o.kind) {
              case 'enrol':
                await enrolDirect(anchor, o.city, `n${version}`);
                break;
              case 'revoke':
                await anchor.revoke('city', o.city, 'test');
                break;
              case 'publish':
              case 'activate':
                await anchor.rotate(o.kind);
                break;
              case 'wait': {
                const before = (await stores.anchor.latestMetadata())!;
                clock.advanceSeconds(o.seconds);
                const halfLife = (before.expiresAt.getTime() - before.issuedAt.getTime()) / 2;
                if (clock.nowMs() < before.issuedAt.getTime() + halfLife) expected = version;
                await anchor.currentMetadata();
                break;
              }
            }
          } catch (err) {
            // Refusals the sequence can provoke: revoking a non-member or a city twice,
            // activating with no published key or before the overlap, enrolling a revoked city.
            const refusals = [
              'MEMBER_NOT_FOUND',
              'ALREADY_EXISTS',
              'MALFORMED_REQUEST',
              'CITY_REVOKED',
              'ROLLOVER_TOO_EARLY',
            ];
            if (!isMeshError(err) || !refusals.includes(err.code)) {
              throw err;
            }
            expected = version;
          }
          const now = (await stores.anchor.latestMetadata())!.version;
          expect(now).toBe(expected);
          version = now;
        }
        const claims = await Promise.all(
          Array.from({ length: version }, async (_, i) => decodeJwt((await stores.anchor.getMetadata(i + 1))!.jwt)),
        );
        expect(claims.map((c) => c['version'])).toEqual(Array.from({ length: version }, (_, i) => i + 1));
      }),
      { numRuns: 15 },
    );
  });

  it('serves the same version before half its lifetime and a re-signed one from half-life on', async () => {
    const clock = wallStartedClock();
    const stores = openMemoryStores();
    const anchor = await TrustAnchor.initialize({ stores, clock }, TEST_SETTINGS, {
      cluster: 'jjj',
      entityId: ANCHOR_ENTITY_ID,
    });
    const first = await anchor.currentMetadata();
    const half = TEST_SETTINGS.metadataLifetimeSeconds / 2;
    clock.advanceSeconds(half - 1);
    const early = await anchor.currentMetadata();
    expect(early.version).toBe(first.version);
    expect(early.jwt).toBe(first.jwt);
    clock.advanceSeconds(1);
    const renewed = await anchor.currentMetadata();
    expect(renewed.version).toBe(first.version + 1);
    expect(renewed.expiresAt.getTime()).toBe(clock.nowMs() + TEST_SETTINGS.metadataLifetimeSeconds * 1000);
    expect((await anchor.currentMetadata()).version).toBe(renewed.version);
    // Same content, new window: only version, iat and exp differ.
    const strip = (jwt: string) => {
      const { version: _v, iat: _i, exp: _e, ...rest } = decodeJwt(jwt);
      return rest;
    };
    expect(strip(renewed.jwt)).toEqual(strip(first.jwt));
  });

  describe('as a node accepts it', () => {
    let t: TestAnchor;
    let dir: string;

    beforeAll(async () => {
      t = await startTestAnchor();
      ({ dir } = await joinCity(t, dirs, 'beijing'));
    });
    afterAll(() => t.stop());

    it('refuses an older version replayed with METADATA_ROLLBACK and accepts the same version re-fetched', async () => {
      const state = await TrustState.load(dir, t.clock);
      const old = (await t.stores.anchor.latestMetadata())!;
      await enrolDirect(t.anchor, 'tianjin');
      expect(await state.refresh()).toEqual({ version: old.version + 1, changed: true });

      expect(await codeOf(state.accept(old.jwt))).toBe('METADATA_ROLLBACK');
      expect(state.metadata.version).toBe(old.version + 1);
      expect(await state.refresh()).toEqual({ version: old.version + 1, changed: false });
      const current = (await t.stores.anchor.latestMetadata())!;
      expect(await state.accept(current.jwt)).toEqual({ version: current.version, changed: false });

      // A restarted node remembers the version it accepted.
      const restarted = await TrustState.load(dir, t.clock);
      expect(await codeOf(restarted.accept(old.jwt))).toBe('METADATA_ROLLBACK');
    });

    it('refuses the current version re-signed with other content with METADATA_ROLLBACK', async () => {
      const state = await TrustState.load(dir, t.clock);
      const current = (await t.stores.anchor.latestMetadata())!;
      const claims = decodeJwt(current.jwt) as unknown as ClusterMetadataClaims;
      const forked = await signClusterMetadata(
        { ...claims, members: claims.members.filter((m) => m.city !== 'tianjin') },
        signingKey(await activeKey(t.stores.keys, 'federation')),
      );
      expect(await codeOf(state.accept(forked))).toBe('METADATA_ROLLBACK');
    });
  });
});

describe('revocation', () => {
  let t: TestAnchor;
  let beijing: { dir: string; identity: NodeIdentity };

  beforeAll(async () => {
    t = await startTestAnchor();
    beijing = await joinCity(t, dirs, 'beijing');
    await joinCity(t, dirs, 'tianjin');
  });
  afterAll(() => t.stop());

  it('makes a peer refuse a revoked city with CITY_REVOKED once it refreshes', async () => {
    const state = await TrustState.load(beijing.dir, t.clock);
    await state.refresh();
    await expect(state.verifyPeerCity('tianjin')).resolves.toEqual({ entityId: cityEntityIdOf('tianjin') });

    const before = await latestVersion(t);
    const published = await t.anchor.revoke('city', 'tianjin', 'key compromise');
    expect(published.version).toBe(before + 1);
    await state.refresh();
    expect(state.metadata.version).toBe(published.version);
    expect(await codeOf(state.verifyPeerCity('tianjin'))).toBe('CITY_REVOKED');
    await expect(state.verifyPeerCity('beijing')).resolves.toEqual({ entityId: cityEntityIdOf('beijing') });
  });

  it('publishes a revoked node so assertNotRevoked refuses it with NODE_REVOKED', async () => {
    await enrolDirect(t.anchor, 'beijing', 'n2');
    const revoked = 'spiffe://beijing.jjj.citymesh/node/n2';
    await t.anchor.revoke('node', revoked, 'decommissioned');
    const claims = await latestClaims(t);
    expect(claims.revocations).toContainEqual(expect.objectContaining({ kind: 'node', id: revoked }));
    expect(await codeOf(() => assertNotRevoked(claims, { nodeSpiffeId: revoked }))).toBe('NODE_REVOKED');
    expect(() => assertNotRevoked(claims, { nodeSpiffeId: beijing.identity.spiffeId })).not.toThrow();
  });

  it("refuses to revoke the anchor's active federation key and publishes nothing", async () => {
    const before = await latestVersion(t);
    const active = (await activeKey(t.stores.keys, 'federation')).stored.kid;
    expect(await codeOf(t.anchor.revoke('key', active, 'oops'))).toBe('MALFORMED_REQUEST');
    expect((await t.stores.keys.get(active))?.status).toBe('active');
    expect(await latestVersion(t)).toBe(before);
  });

  it("refuses to revoke the anchor's active root CA or TLS key, which would leave it unable to restart", async () => {
    const before = await latestVersion(t);
    for (const purpose of ['ca', 'tls'] as const) {
      const kid = (await activeKey(t.stores.keys, purpose)).stored.kid;
      expect(await codeOf(t.anchor.revoke('key', kid, 'oops')), purpose).toBe('MALFORMED_REQUEST');
      expect((await t.stores.keys.get(kid))?.status, purpose).toBe('active');
    }
    expect(await latestVersion(t)).toBe(before);
    await expect(TrustAnchor.open({ stores: t.stores, clock: t.clock }, TEST_SETTINGS)).resolves.toBeInstanceOf(
      TrustAnchor,
    );
  });

  it.each([
    ['a city of the cluster that never joined', 'city', 'handan'],
    ['a city of another cluster', 'city', 'guangzhou'],
    ['a node that never enrolled', 'node', 'spiffe://beijing.jjj.citymesh/node/n7'],
  ] as const)('refuses to revoke %s with MEMBER_NOT_FOUND', async (_, kind, id) => {
    const before = await latestVersion(t);
    expect(await codeOf(t.anchor.revoke(kind, id, 'test'))).toBe('MEMBER_NOT_FOUND');
    expect(await latestVersion(t)).toBe(before);
  });
});

describe('anchor key rollover', () => {
  let t: TestAnchor;
  let dir: string;

  beforeAll(async () => {
    t = await startTestAnchor();
    ({ dir } = await joinCity(t, dirs, 'beijing'));
  });
  afterAll(() => t.stop());

  it('refuses to activate a next key that was never published', async () => {
    const fresh = await TrustAnchor.initialize({ stores: openMemoryStores(), clock: t.clock }, TEST_SETTINGS, {
      cluster: 'jjj',
      entityId: ANCHOR_ENTITY_ID,
    });
    expect(await codeOf(fresh.rotate('activate'))).toBe('MALFORMED_REQUEST');
    expect((await fresh.currentMetadata()).version).toBe(1);
  });

  it('keeps a node verifying through publish and activate, and lists the retired key afterwards', async () => {
    const state = await TrustState.load(dir, t.clock);
    const pins = () => (JSON.parse(readNodeFile(dir, 'pins')) as JwkSet).keys.map((k) => k.kid);
    const signerOf = (jwt: string) => decodeProtectedHeader(jwt).kid;
    const step = async () => {
      t.clock.advanceSeconds(30);
      await state.refresh();
      await state.verifyPeerCity('beijing');
      await verifyEntityStatement(await t.anchor.entityConfiguration(), {
        keys: JSON.parse(readNodeFile(dir, 'pins')) as JwkSet,
        now: t.clock.nowSeconds(),
        fetchedFor: ANCHOR_ENTITY_ID,
      });
    };
    await step();
    const old = (await activeKey(t.stores.keys, 'federation')).stored.kid;
    expect(pins()).toEqual([old]);

    const published = await t.anchor.rotate('publish');
    await step();
    expect(state.metadata.version).toBe(published.version);
    expect(pins().sort()).toEqual([old, published.kid].sort());
    expect(signerOf((await t.stores.anchor.latestMetadata())!.jwt)).toBe(old);

    // The overlap: activation waits one metadata lifetime while the node keeps verifying.
    expect(await codeOf(t.anchor.rotate('activate'))).toBe('ROLLOVER_TOO_EARLY');
    const readyAt = t.clock.nowSeconds() - 30 + TEST_SETTINGS.metadataLifetimeSeconds;
    while (t.clock.nowSeconds() < readyAt) await step();
    const activated = await t.anchor.rotate('activate');
    expect(activated.kid).toBe(published.kid);
    await step();
    expect(state.metadata.version).toBe(activated.version);
    expect(signerOf((await t.stores.anchor.latestMetadata())!.jwt)).toBe(published.kid);
    expect(state.metadata.anchor_keys.keys.map((k) => k.kid)).toEqual([published.kid]);

    const history = await verifyJws(await t.anchor.historicalKeys(), {
      expectedTyp: HISTORICAL_KEYS_TYP,
      keys: { keys: state.metadata.anchor_keys.keys },
      now: t.clock.nowSeconds(),
      // OpenID Federation 1.0 gives the historical keys response iss, iat and keys only.
      requireExp: false,
    });
    const listed = (history.payload as unknown as HistoricalKeysClaims).keys;
    expect(listed.map((k) => k.kid)).toEqual([old]);
    expect(listed[0]!.exp).toBeGreaterThan(t.clock.nowSeconds());
    expect((await keysWith(t.stores.keys, 'federation', 'retired')).map((k) => k.kid)).toEqual([old]);
  });

  it('refuses an early activation without changing anything, and allows it once the overlap has passed', async () => {
    const early = await TrustAnchor.initialize(
      { stores: openMemoryStores(), clock: wallStartedClock() },
      TEST_SETTINGS,
      {
        cluster: 'jjj',
        entityId: ANCHOR_ENTITY_ID,
      },
    );
    const published = await early.rotate('publish');
    const err = await early.rotate('activate').catch((e: unknown) => e);
    expect(isMeshError(err) && err.code).toBe('ROLLOVER_TOO_EARLY');
    expect(String((err as Error).message)).toContain('--force');
    expect((await early.currentMetadata()).version).toBe(published.version);
    expect((await early.rotate('activate', { force: true })).kid).toBe(published.kid);
  });

  it('documents that a node which slept through a forced activation cannot follow it (TOKEN_KEY_UNKNOWN)', async () => {
    const sleeper = await startTestAnchor();
    try {
      const { dir: sleeperDir } = await joinCity(sleeper, dirs, 'tianjin');
      const state = await TrustState.load(sleeperDir, sleeper.clock);
      await sleeper.anchor.rotate('publish');
      await sleeper.anchor.rotate('activate', { force: true });
      expect(await codeOf(state.refresh())).toBe('TOKEN_KEY_UNKNOWN');
      expect(state.metadata.version).toBe(2);
    } finally {
      await sleeper.stop();
    }
  });
});
