import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatePeer } from '../../nodes/exchange/index.js';
import { issueNodeCertificate, nodePath, renewCityCa, TrustState } from '../../nodes/index.js';
import { cityCaKey } from '../../nodes/trust/city-ca-key.js';
import { readNodeFile } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import { createCsr, generateEcKeyPair, issueSpiffeLeaf, keysWith } from '../../trust-anchor/index.js';
import {
  codeOf,
  joinCity,
  latestClaims,
  startTestAnchor,
  TempDirs,
  type TestAnchor,
} from '../support/anchor-harness.js';

const dirs = new TempDirs();
let t: TestAnchor;
let beijing: string;
let tianjin: string;

async function renew(dir: string) {
  const stores = openSqliteStores(nodePath(dir, 'store'));
  try {
    return await renewCityCa({ dir, keys: stores.keys, clock: t.clock });
  } finally {
    await stores.close();
  }
}

beforeAll(async () => {
  t = await startTestAnchor();
  beijing = (await joinCity(t, dirs, 'beijing')).dir;
  tianjin = (await joinCity(t, dirs, 'tianjin')).dir;
});

afterAll(async () => {
  await t.stop();
  dirs.removeAll();
});

describe('city CA renewal over mTLS', () => {
  it('gives the node a new CA, keeps the old one listed, and new SVIDs from it verify at peers', async () => {
    const oldCa = readNodeFile(beijing, 'cityCa');
    const before = await latestClaims(t);
    const r = await renew(beijing);
    const newCa = readNodeFile(beijing, 'cityCa');
    expect(newCa).not.toBe(oldCa);
    expect(r.notAfter.getTime()).toBeGreaterThanOrEqual(new Date(new X509Certificate(oldCa).validTo).getTime());
    expect(new X509Certificate(newCa).serialNumber).not.toBe(new X509Certificate(oldCa).serialNumber);
    const after = await latestClaims(t);
    expect(after.version).toBe(before.version + 1);
    const member = after.members.find((m) => m.city === 'beijing')!;
    expect(member.ca_certificates.map((p) => p.trim())).toEqual([newCa.trim(), oldCa.trim()]);

    // The node's current SVID (from the old CA) still authenticates; so does a new one.
    const stores = openSqliteStores(nodePath(beijing, 'store'));
    try {
      expect((await keysWith(stores.keys, 'ca', 'active')).length).toBe(1);
      const peerState = await TrustState.load(tianjin, t.clock);
      await peerState.refresh();
      const check = () =>
        authenticatePeer(
          readNodeFile(beijing, 'nodeCert').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!,
          {
            metadata: peerState.metadata,
            rootPem: t.rootPem,
            now: t.clock.now(),
          },
        );
      expect(check().city).toBe('beijing');
      const identity = JSON.parse(readNodeFile(beijing, 'identity')) as { spiffeId: string };
      await issueNodeCertificate({
        dir: beijing,
        keys: stores.keys,
        cityCa: await cityCaKey(beijing, stores.keys),
        spiffeId: identity.spiffeId,
        lifetimeHours: 24,
        now: t.clock.now(),
      });
      expect(new X509Certificate(readNodeFile(beijing, 'nodeCert')).issuer).toBe(new X509Certificate(newCa).subject);
      expect(check().spiffeId).toBe(identity.spiffeId);
    } finally {
      await stores.close();
    }
  });

  it('refuses a caller without a client certificate', async () => {
    const { anchorRequest } = await import('../../nodes/trust/anchor-client.js');
    const res = await anchorRequest(t.server.url, '/renew-city-ca', {
      rootPem: t.rootPem,
      method: 'POST',
      json: { caCsrPem: 'x' },
    });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ reason: 'CREDENTIALS_MISSING' });
  });

  it('refuses a revoked node and a revoked city', async () => {
    const shijiazhuang = (await joinCity(t, dirs, 'shijiazhuang')).dir;
    await t.anchor.revoke('node', 'spiffe://tianjin.jjj.citymesh/node/n1', 'host compromised');
    expect(await codeOf(renew(tianjin))).toBe('NODE_REVOKED');
    await t.anchor.revoke('city', 'shijiazhuang', 'compromised');
    expect(await codeOf(renew(shijiazhuang))).toBe('CITY_REVOKED');
  });

  it('refuses an app certificate and a node the anchor never enrolled, whatever CA issued them', async () => {
    const stores = openSqliteStores(nodePath(beijing, 'store'));
    try {
      const ca = await cityCaKey(beijing, stores.keys);
      const leaf = async (spiffeId: string) =>
        (
          await issueSpiffeLeaf({
            publicKey: (await generateEcKeyPair()).publicKey,
            spiffeId,
            issuerCertPem: ca.certificatePem,
            issuerKeys: ca.key.pair,
            now: t.clock.now(),
            lifetimeHours: 1,
          })
        ).pem;
      const csr = await createCsr({ keys: await generateEcKeyPair(), subjectCn: 'x' });
      const attempt = async (spiffeId: string) =>
        codeOf(t.anchor.renewCityCa({ clientCertificatePems: [await leaf(spiffeId)], caCsrPem: csr }));
      expect(await attempt('spiffe://beijing.jjj.citymesh/app/planner')).toBe('CERTIFICATE_SPIFFE_ID_INVALID');
      expect(await attempt('spiffe://beijing.jjj.citymesh/node/n9')).toBe('MEMBER_NOT_FOUND');
    } finally {
      await stores.close();
    }
  });
});
