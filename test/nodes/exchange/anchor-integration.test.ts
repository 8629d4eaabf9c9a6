import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticatePeer,
  type ExchangeGrantSigner,
  federationKeySigner,
  issueExchangeGrant,
  MemoryReplayCache,
  verifyExchangeGrant,
} from '../../../nodes/exchange/index.js';
import { type NodeIdentity, nodePath, TrustState } from '../../../nodes/index.js';
import { readNodeFile } from '../../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../../stores/index.js';
import { activeKey, signingKey } from '../../../trust-anchor/index.js';
import { joinCity, meshErrorOf, startTestAnchor, TempDirs, type TestAnchor } from '../../support/anchor-harness.js';
import { REQUEST } from './grant-support.js';

const dirs = new TempDirs();

/** The node's certificate file holds its leaf, then its city CA. */
function chainOf(dir: string): string[] {
  return readNodeFile(dir, 'nodeCert')
    .split(/(?<=-----END CERTIFICATE-----\n?)/)
    .filter((pem) => pem.includes('BEGIN CERTIFICATE'));
}

async function signerOf(dir: string, identity: NodeIdentity): Promise<ExchangeGrantSigner> {
  const stores = openSqliteStores(nodePath(dir, 'store'));
  try {
    return federationKeySigner(identity.spiffeId, signingKey(await activeKey(stores.keys, 'federation')));
  } finally {
    await stores.close();
  }
}

describe('peer authentication and grants against a real anchor', () => {
  let t: TestAnchor;
  let beijing: { dir: string; identity: NodeIdentity };
  let tianjin: { dir: string; identity: NodeIdentity };
  let tianjinState: TrustState;

  beforeAll(async () => {
    t = await startTestAnchor();
    beijing = await joinCity(t, dirs, 'beijing', 'n1');
    tianjin = await joinCity(t, dirs, 'tianjin', 'n1');
    tianjinState = await TrustState.load(tianjin.dir, t.clock);
    await tianjinState.refresh();
  });
  afterAll(async () => {
    await t.stop();
    dirs.removeAll();
  });

  const authenticate = (chain: string[]) =>
    authenticatePeer(chain, { metadata: tianjinState.metadata, rootPem: t.rootPem, now: t.clock.now() });

  const forwarded = async (signer: ExchangeGrantSigner) =>
    (
      await issueExchangeGrant(
        signer,
        { ...REQUEST, aud: tianjin.identity.spiffeId, resource: 'jjj/tianjin/health-commission/clinics' },
        t.clock.nowSeconds(),
      )
    ).token;

  const verifyAtTianjin = (token: string, presenterCity: string) =>
    verifyExchangeGrant(token, {
      metadata: tianjinState.metadata,
      audience: tianjin.identity.spiffeId,
      presenterCity,
      now: t.clock.nowSeconds(),
      replay: new MemoryReplayCache(),
    });

  it("Tianjin authenticates Beijing's node certificate and verifies the grant it signs", async () => {
    const peer = authenticate(chainOf(beijing.dir));
    expect(peer).toMatchObject({ spiffeId: beijing.identity.spiffeId, city: 'beijing', nodeName: 'n1' });
    expect(authenticate(chainOf(beijing.dir).slice(0, 1)).spiffeId).toBe(beijing.identity.spiffeId);
    const token = await forwarded(await signerOf(beijing.dir, beijing.identity));
    await expect(verifyAtTianjin(token, peer.city)).resolves.toMatchObject({ issuerCity: 'beijing' });
  });

  it('refuses the old certificate once Beijing re-enrols n1 and the anchor replaces its CA', async () => {
    const oldChain = chainOf(beijing.dir);
    const oldSigner = await signerOf(beijing.dir, beijing.identity);
    const renewed = await joinCity(t, dirs, 'beijing', 'n1');
    await tianjinState.refresh();
    for (const chain of [oldChain, oldChain.slice(0, 1)]) {
      const err = await meshErrorOf(() => authenticate(chain));
      expect([err.code, err.details.rule]).toEqual(['CERTIFICATE_INVALID', 'issuer-not-current']);
    }
    expect(authenticate(chainOf(renewed.dir)).spiffeId).toBe(beijing.identity.spiffeId);
    // Re-enrolment also replaced the federation key: grants by the old one name an unknown kid.
    expect((await meshErrorOf(verifyAtTianjin(await forwarded(oldSigner), 'beijing'))).code).toBe('TOKEN_KEY_UNKNOWN');
    beijing = renewed;
  });

  it('refuses the node and its grants once the anchor revokes Beijing', async () => {
    const token = await forwarded(await signerOf(beijing.dir, beijing.identity));
    await t.anchor.revoke('city', 'beijing', 'test');
    await tianjinState.refresh();
    expect((await meshErrorOf(() => authenticate(chainOf(beijing.dir)))).code).toBe('CITY_REVOKED');
    expect((await meshErrorOf(verifyAtTianjin(token, 'beijing'))).code).toBe('CITY_REVOKED');
  });
});
