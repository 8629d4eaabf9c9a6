import { afterAll, describe, expect, it } from 'vitest';
import { TrustState } from '../../nodes/index.js';
import { createKey, keysWith, TrustAnchor } from '../../trust-anchor/index.js';
import {
  cityEntityIdOf,
  codeOf,
  httpsCall,
  joinCity,
  latestClaims,
  startTestAnchor,
  TEST_SETTINGS,
  TempDirs,
} from '../support/anchor-harness.js';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

describe('a revoked city in the federation endpoints', () => {
  it('gets no fresh statement from fetch and drops out of list', async () => {
    const t = await startTestAnchor();
    try {
      await joinCity(t, dirs, 'beijing');
      await joinCity(t, dirs, 'tianjin');
      expect((await t.anchor.listSubordinates()).sort()).toEqual([
        cityEntityIdOf('beijing'),
        cityEntityIdOf('tianjin'),
      ]);
      await t.anchor.revoke('city', 'tianjin', 'compromised');
      expect(await codeOf(t.anchor.fetchStatement(cityEntityIdOf('tianjin')))).toBe('CITY_REVOKED');
      expect(await t.anchor.listSubordinates()).toEqual([cityEntityIdOf('beijing')]);
      const res = await httpsCall(t, `/fetch?sub=${encodeURIComponent(cityEntityIdOf('tianjin'))}`);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ reason: 'CITY_REVOKED' });
      await t.anchor.fetchStatement(cityEntityIdOf('beijing'));
    } finally {
      await t.stop();
    }
  });
});

describe('an interrupted key revocation', () => {
  it('is published when the anchor opens again', async () => {
    const t = await startTestAnchor();
    try {
      const next = await createKey(t.stores.keys, { purpose: 'federation', status: 'next', now: t.clock.now() });
      // What a crash between marking the key and publishing the metadata leaves behind.
      await t.stores.keys.setStatus(next.stored.kid, 'revoked', t.clock.now());
      expect((await latestClaims(t)).revocations).toEqual([]);
      await TrustAnchor.open({ stores: t.stores, clock: t.clock }, TEST_SETTINGS);
      const revocations = (await latestClaims(t)).revocations;
      expect(revocations).toMatchObject([{ kind: 'key', id: next.stored.kid }]);
      // Opening again publishes nothing twice.
      const version = (await latestClaims(t)).version;
      await TrustAnchor.open({ stores: t.stores, clock: t.clock }, TEST_SETTINGS);
      expect((await latestClaims(t)).version).toBe(version);
      expect((await keysWith(t.stores.keys, 'federation', 'revoked')).map((k) => k.kid)).toEqual([next.stored.kid]);
    } finally {
      await t.stop();
    }
  });
});

describe('the rollback floor of a node restarted on expired metadata', () => {
  it('refuses an older version that is still unexpired', async () => {
    const long = { ...TEST_SETTINGS, metadataLifetimeSeconds: 7200 };
    const t = await startTestAnchor({ settings: long });
    try {
      const { dir } = await joinCity(t, dirs, 'beijing');
      const older = (await t.stores.anchor.latestMetadata())!;
      // The operator shortens the offline budget: newer versions expire before older ones.
      const short = await TrustAnchor.open(
        { stores: t.stores, clock: t.clock },
        { ...long, metadataLifetimeSeconds: 600 },
      );
      await short.rotate('publish');
      const state = await TrustState.load(dir, t.clock);
      await state.accept((await t.stores.anchor.latestMetadata())!.jwt);
      t.clock.advanceSeconds(700);
      const restarted = await TrustState.load(dir, t.clock);
      expect(restarted.status().state).toBe('expired');
      expect(await codeOf(restarted.accept(older.jwt))).toBe('METADATA_ROLLBACK');
      // A newer version is still taken.
      await restarted.accept((await short.currentMetadata()).jwt);
      expect(restarted.status().state).toBe('current');
    } finally {
      await t.stop();
    }
  });
});
