import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CATALOG_CHANGE_TYP,
  CatalogBoard,
  type CatalogNoticeClaims,
  type NoticeSigner,
  signCatalogNotice,
} from '../../../nodes/gossip/index.js';
import { nodePath, TrustState } from '../../../nodes/index.js';
import { readNodeFile } from '../../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../../stores/index.js';
import { exportPrivateKeyPem, generateEcKeyPair, keysWith } from '../../../trust-anchor/index.js';
import { joinCity, startTestAnchor, TempDirs, type TestAnchor } from '../../support/anchor-harness.js';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

/** A node's real notice signer: its active SVID key and its chain from `node-cert.pem`. */
async function signerOf(dir: string): Promise<NoticeSigner> {
  const stores = openSqliteStores(nodePath(dir, 'store'));
  try {
    const key = (await keysWith(stores.keys, 'tls', 'active')).at(-1)!;
    const [leaf, ca] = readNodeFile(dir, 'nodeCert').match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    )!;
    return { privateKeyPem: key.privateKeyPem!, chainPems: [`${leaf}\n`, `${ca}\n`] };
  } finally {
    await stores.close();
  }
}

describe('catalog change notices', () => {
  let t: TestAnchor;
  let receiver: TrustState;
  const signers: Record<string, NoticeSigner> = {};
  let nowSeconds: number;

  const claims = (city: string, seq: number, over: Partial<CatalogNoticeClaims> = {}): CatalogNoticeClaims => ({
    iss: `spiffe://${city}.jjj.citymesh/node/n1`,
    cluster: 'jjj',
    city,
    seq,
    iat: nowSeconds,
    exp: nowSeconds + 300,
    changes: [
      {
        id: `jjj/${city}/transport-bureau/bus-stops`,
        kind: 'dataset',
        version: '1.0.0',
        change: 'published',
        industry: 'transport',
      },
    ],
    ...over,
  });
  const options = () => ({ metadata: receiver.metadata, rootPem: t.rootPem, now: t.clock.now() });

  beforeAll(async () => {
    t = await startTestAnchor();
    for (const city of ['beijing', 'tianjin', 'shijiazhuang']) {
      const { dir } = await joinCity(t, dirs, city);
      signers[city] = await signerOf(dir);
      if (city === 'tianjin') receiver = await TrustState.load(dir, t.clock);
    }
    await receiver.refresh();
    nowSeconds = t.clock.nowSeconds();
  }, 60_000);
  afterAll(() => t?.stop());

  it('accepts a notice signed by a member node, then only a higher seq from it', async () => {
    const board = new CatalogBoard();
    const first = await signCatalogNotice(claims('beijing', 10), signers.beijing!);
    expect(await board.receive(first, options)).toEqual({ result: 'accept' });
    expect(board.latest('spiffe://beijing.jjj.citymesh/node/n1')).toMatchObject({ city: 'beijing', seq: 10 });
    expect(board.accepted).toBe(1);

    expect(await board.receive(first, options)).toMatchObject({
      result: 'ignore',
      reason: expect.stringMatching(/^TOKEN_REPLAYED/),
    });
    const older = await signCatalogNotice(claims('beijing', 9), signers.beijing!);
    expect(await board.receive(older, options)).toMatchObject({
      result: 'ignore',
      reason: expect.stringMatching(/^TOKEN_REPLAYED/),
    });
    const next = await signCatalogNotice(claims('beijing', 11), signers.beijing!);
    expect(await board.receive(next, options)).toEqual({ result: 'accept' });
    expect(board.accepted).toBe(2);
  });

  it('rejects a notice whose signature is not the certificate key’s', async () => {
    const other = await generateEcKeyPair();
    const forged = await signCatalogNotice(claims('beijing', 20), {
      privateKeyPem: await exportPrivateKeyPem(other),
      chainPems: signers.beijing!.chainPems,
    });
    expect(await new CatalogBoard().receive(forged, options)).toMatchObject({
      result: 'reject',
      reason: expect.stringMatching(/^TOKEN_SIGNATURE_INVALID/),
    });
  });

  it('rejects another city’s node claiming to be beijing’s, or announcing beijing’s datasets', async () => {
    const asBeijing = await signCatalogNotice(claims('beijing', 30), signers.tianjin!);
    expect(await new CatalogBoard().receive(asBeijing, options)).toMatchObject({
      result: 'reject',
      reason: expect.stringMatching(/^TOKEN_ISSUER_MISMATCH/),
    });
    const foreignIds = await signCatalogNotice(
      claims('tianjin', 31, {
        changes: [
          {
            id: 'jjj/beijing/transport-bureau/bus-stops',
            kind: 'dataset',
            version: '2.0.0',
            change: 'withdrawn',
            industry: 'transport',
          },
        ],
      }),
      signers.tianjin!,
    );
    expect(await new CatalogBoard().receive(foreignIds, options)).toMatchObject({
      result: 'reject',
      reason: expect.stringMatching(/^PEER_IDENTITY_MISMATCH/),
    });
  });

  it('rejects a node of another cluster root with the same names', async () => {
    const elsewhere = await startTestAnchor();
    try {
      const { dir } = await joinCity(elsewhere, dirs, 'beijing');
      const notice = await signCatalogNotice(claims('beijing', 40), await signerOf(dir));
      const verdict = await new CatalogBoard().receive(notice, options);
      expect(verdict).toMatchObject({ result: 'reject', reason: expect.stringMatching(/^CERTIFICATE_INVALID/) });
    } finally {
      await elsewhere.stop();
    }
  });

  it('refuses notices out of their time: expired is ignored, too long or not yet valid rejected', async () => {
    const board = new CatalogBoard();
    const sign = (seq: number, iat: number, exp: number) =>
      signCatalogNotice(claims('beijing', seq, { iat, exp }), signers.beijing!);
    expect(await board.receive(await sign(50, nowSeconds - 400, nowSeconds - 100), options)).toMatchObject({
      result: 'ignore',
      reason: expect.stringMatching(/^TOKEN_EXPIRED/),
    });
    expect(await board.receive(await sign(51, nowSeconds, nowSeconds + 600), options)).toMatchObject({
      result: 'reject',
      reason: expect.stringMatching(/^TOKEN_LIFETIME_EXCEEDED/),
    });
    expect(await board.receive(await sign(52, nowSeconds + 120, nowSeconds + 420), options)).toMatchObject({
      result: 'reject',
      reason: expect.stringMatching(/^TOKEN_NOT_YET_VALID/),
    });
    expect(board.accepted).toBe(0);
  });

  it('rejects a wrong typ and key-supplying headers', async () => {
    const { privateKeyPem, chainPems } = signers.beijing!;
    const x5c = chainPems.map((pem) => new X509Certificate(pem).raw.toString('base64'));
    const sign = (header: Record<string, unknown>) =>
      new CompactSign(Buffer.from(JSON.stringify(claims('beijing', 60))))
        .setProtectedHeader({ alg: 'ES256', x5c, ...header })
        .sign(createPrivateKey(privateKeyPem));
    expect(await new CatalogBoard().receive(await sign({ typ: 'JWT' }), options)).toMatchObject({
      result: 'reject',
      reason: expect.stringMatching(/^TOKEN_TYPE_MISMATCH/),
    });
    const jwk = { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' };
    expect(await new CatalogBoard().receive(await sign({ typ: CATALOG_CHANGE_TYP, jwk }), options)).toMatchObject({
      result: 'reject',
      reason: expect.stringMatching(/^TOKEN_HEADER_INJECTION/),
    });
    expect(await new CatalogBoard().receive('garbage', options)).toMatchObject({ result: 'reject' });
  });

  it('ignores a node of a revoked city once the receiver holds the revocation', async () => {
    const board = new CatalogBoard();
    const notice = await signCatalogNotice(claims('shijiazhuang', 70), signers.shijiazhuang!);
    await t.anchor.revoke('city', 'shijiazhuang', 'catalog notice test');
    await receiver.refresh();
    expect(await board.receive(notice, options)).toMatchObject({
      result: 'ignore',
      reason: expect.stringMatching(/^CITY_REVOKED/),
    });
    expect(board.accepted).toBe(0);
  });
});
