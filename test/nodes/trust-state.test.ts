import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '../../common/stores/index.js';
import {
  issueNodeCertificate,
  type NodeIdentity,
  nodeCertificateDue,
  nodePath,
  TrustState,
} from '../../nodes/index.js';
import { readNodeFile, writeFileAtomic } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import {
  activeKey,
  createClusterRootCa,
  generateEcKeyPair,
  keysWith,
  verifyCertificatePath,
} from '../../trust-anchor/index.js';
import {
  codeOf,
  joinCity,
  startTestAnchor,
  TEST_SETTINGS,
  TempDirs,
  type TestAnchor,
} from '../support/anchor-harness.js';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

/** The node certificate (leaf) of a node folder; the file holds leaf then city CA. */
function nodeLeaf(dir: string): X509Certificate {
  return new X509Certificate(readNodeFile(dir, 'nodeCert'));
}

describe('offline budget', () => {
  let t: TestAnchor;
  let dir: string;

  beforeAll(async () => {
    t = await startTestAnchor();
    ({ dir } = await joinCity(t, dirs, 'beijing'));
  });
  afterAll(() => t.stop());

  it('reports the whole budget and a current state right after joining', async () => {
    const state = await TrustState.load(dir, t.clock);
    expect(state.offlineBudgetSeconds()).toBe(TEST_SETTINGS.metadataLifetimeSeconds);
    expect(state.status()).toMatchObject({
      city: 'beijing',
      node: 'spiffe://beijing.jjj.citymesh/node/n1',
      metadataVersion: 2,
      state: 'current',
      members: ['beijing'],
      offlineBudgetSeconds: TEST_SETTINGS.metadataLifetimeSeconds,
    });
  });

  it('keeps serving the cached metadata while the anchor is down, until exp, then refuses with METADATA_EXPIRED', async () => {
    const state = await TrustState.load(dir, t.clock);
    const { version, exp } = state.metadata;
    await t.stop();
    try {
      expect(await codeOf(state.refresh())).toBe('ANCHOR_UNAVAILABLE');
      expect(state.metadata.version).toBe(version);
      expect(state.offlineBudgetSeconds()).toBe(exp - t.clock.nowSeconds());

      t.clock.advanceSeconds(1000);
      expect(state.offlineBudgetSeconds()).toBe(exp - t.clock.nowSeconds());
      expect(await codeOf(state.refresh())).toBe('ANCHOR_UNAVAILABLE');
      expect(state.metadata.version).toBe(version);

      // A restart reads the same version back from disk and keeps serving on it.
      const restarted = await TrustState.load(dir, t.clock);
      expect(restarted.metadata.version).toBe(version);
      expect(restarted.offlineBudgetSeconds()).toBe(state.offlineBudgetSeconds());

      t.clock.set(exp * 1000 - 1000);
      expect(state.offlineBudgetSeconds()).toBe(1);
      expect(state.status().state).toBe('current');
      expect(state.metadata.version).toBe(version);

      t.clock.advanceSeconds(1);
      expect(state.offlineBudgetSeconds()).toBe(0);
      expect(await codeOf(() => state.metadata)).toBe('METADATA_EXPIRED');
      expect(await codeOf(state.verifyPeerCity('beijing'))).toBe('METADATA_EXPIRED');
      expect(state.status()).toMatchObject({ state: 'expired', offlineBudgetSeconds: 0, metadataVersion: version });

      // Expired metadata survives a restart as state, not as something to serve on.
      const afterExpiry = await TrustState.load(dir, t.clock);
      expect(afterExpiry.status()).toMatchObject({
        state: 'expired',
        offlineBudgetSeconds: 0,
        metadataVersion: version,
      });
      expect(await codeOf(() => afterExpiry.metadata)).toBe('METADATA_EXPIRED');
    } finally {
      await t.restart();
    }

    // Back online: the anchor re-signs (past half-life) and the budget is whole again.
    expect(await state.refresh()).toEqual({ version: version + 1, changed: true });
    expect(state.offlineBudgetSeconds()).toBe(TEST_SETTINGS.metadataLifetimeSeconds);
    expect(state.status().state).toBe('current');
  });

  it('refuses to load a folder that never joined with INVALID_CONFIG', async () => {
    expect(await codeOf(TrustState.load(dirs.make(), t.clock))).toBe('INVALID_CONFIG');
  });
});

describe('node certificate', () => {
  let t: TestAnchor;
  let dir: string;
  let identity: NodeIdentity;
  let stores: Stores;

  beforeAll(async () => {
    t = await startTestAnchor();
    ({ dir, identity } = await joinCity(t, dirs, 'beijing'));
    stores = openSqliteStores(nodePath(dir, 'store'));
  });
  afterAll(async () => {
    await stores.close();
    await t.stop();
  });

  const renew = async (spiffeId = identity.spiffeId) =>
    issueNodeCertificate({
      dir,
      keys: stores.keys,
      cityCa: { key: await activeKey(stores.keys, 'ca'), certificatePem: readNodeFile(dir, 'cityCa') },
      spiffeId,
      lifetimeHours: TEST_SETTINGS.certificateLifetimeHours,
      now: t.clock.now(),
    });

  it('is issued for the configured lifetime and is not due when fresh', () => {
    const leaf = nodeLeaf(dir);
    // notAfter is issuance + lifetime; notBefore is backdated a little for clock skew.
    expect(Date.parse(leaf.validTo)).toBe(
      Date.parse(identity.joinedAt) + TEST_SETTINGS.certificateLifetimeHours * 3_600_000,
    );
    expect(Date.parse(leaf.validFrom)).toBeLessThanOrEqual(Date.parse(identity.joinedAt));
    expect(nodeCertificateDue(dir, t.clock.now())).toBe(false);
  });

  it('becomes due at half its lifetime', () => {
    const leaf = nodeLeaf(dir);
    const from = Date.parse(leaf.validFrom);
    const halfLife = from + (Date.parse(leaf.validTo) - from) / 2;
    expect(nodeCertificateDue(dir, new Date(halfLife - 1000))).toBe(false);
    expect(nodeCertificateDue(dir, new Date(halfLife))).toBe(true);
  });

  it('renews with a new key and retires the old TLS key', async () => {
    const before = nodeLeaf(dir);
    const [oldKey] = await keysWith(stores.keys, 'tls', 'active');
    t.clock.advanceSeconds((TEST_SETTINGS.certificateLifetimeHours * 3600) / 2);
    expect(nodeCertificateDue(dir, t.clock.now())).toBe(true);

    const verified = await renew();
    expect(verified.spiffeId).toBe(identity.spiffeId);
    const after = nodeLeaf(dir);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.publicKey.equals(before.publicKey)).toBe(false);
    expect(nodeCertificateDue(dir, t.clock.now())).toBe(false);

    const active = await keysWith(stores.keys, 'tls', 'active');
    expect(active).toHaveLength(1);
    expect(active[0]!.kid).not.toBe(oldKey!.kid);
    expect(new X509Certificate(active[0]!.certificatePem!).publicKey.equals(after.publicKey)).toBe(true);
    expect((await stores.keys.get(oldKey!.kid))?.status).toBe('retired');

    const [leafPem, cityCaPem] = readNodeFile(dir, 'nodeCert').match(
      /-----BEGIN[\s\S]+?-----END CERTIFICATE-----\n?/g,
    )!;
    expect(
      verifyCertificatePath({
        leafPem: leafPem!,
        chainPems: [cityCaPem!],
        rootPems: [readNodeFile(dir, 'bundle')],
        now: t.clock.now(),
        expected: { spiffeId: identity.spiffeId },
      }).serial,
    ).toBe(verified.serial);
  });

  it("refuses to issue another city's SPIFFE id from this city's CA and keeps the current certificate", async () => {
    const before = readNodeFile(dir, 'nodeCert');
    const activeBefore = (await keysWith(stores.keys, 'tls', 'active')).map((k) => k.kid);
    expect(await codeOf(renew('spiffe://tianjin.jjj.citymesh/node/n1'))).toBe('CERTIFICATE_NAME_CONSTRAINT');
    expect(readNodeFile(dir, 'nodeCert')).toBe(before);
    expect((await keysWith(stores.keys, 'tls', 'active')).map((k) => k.kid)).toEqual(activeBefore);
  });

  it('keeps the current certificate and active key when the new one does not verify', async () => {
    const before = readNodeFile(dir, 'nodeCert');
    const bundle = readNodeFile(dir, 'bundle');
    const activeBefore = (await keysWith(stores.keys, 'tls', 'active')).map((k) => k.kid);
    const stranger = await createClusterRootCa({
      cluster: 'jjj',
      keys: await generateEcKeyPair(),
      now: t.clock.now(),
      lifetimeDays: 1,
    });
    writeFileAtomic(nodePath(dir, 'bundle'), stranger.pem);
    try {
      expect(await codeOf(renew())).toBe('CERTIFICATE_INVALID');
    } finally {
      writeFileAtomic(nodePath(dir, 'bundle'), bundle);
    }
    expect(readNodeFile(dir, 'nodeCert')).toBe(before);
    expect((await keysWith(stores.keys, 'tls', 'active')).map((k) => k.kid)).toEqual(activeBefore);
  });

  it('is due when the certificate file is gone', () => {
    rmSync(nodePath(dir, 'nodeCert'));
    expect(nodeCertificateDue(dir, t.clock.now())).toBe(true);
  });
});
