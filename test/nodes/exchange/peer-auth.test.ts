import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../common/errors/registry.js';
import {
  type AuthenticatePeerOptions,
  authenticatePeer,
  PeerCache,
  type PeerCertificateChain,
  peerChainOf,
} from '../../../nodes/exchange/index.js';
import { meshErrorOf } from '../../support/anchor-harness.js';
import {
  BEIJING_NODE,
  buildExchangePki,
  cityCa,
  DAY,
  type ExchangePki,
  forge,
  leafUnder,
  type MetadataChanges,
  metadataOf,
  NOW,
  T0,
} from './fixtures.js';

let pki: ExchangePki;
beforeAll(async () => {
  pki = await buildExchangePki();
});

function options(changes: MetadataChanges = {}, extra: Partial<AuthenticatePeerOptions> = {}): AuthenticatePeerOptions {
  return { metadata: metadataOf(pki, changes), rootPem: pki.root.cert.pem, now: NOW, cache: new PeerCache(), ...extra };
}

/** Asserts the refusal's code and rule, for the chain as presented and as grpc-js gives it (leaf alone). */
async function refusedBoth(
  leafPem: string,
  caPem: string,
  opts: AuthenticatePeerOptions,
  code: ErrorCode,
  rule: string,
): Promise<void> {
  for (const chain of [[leafPem, caPem], [leafPem]]) {
    const err = await meshErrorOf(() => authenticatePeer(chain, { ...opts, cache: new PeerCache() }));
    expect({ chain: chain.length, code: err.code, rule: err.details.rule }).toEqual({
      chain: chain.length,
      code,
      rule,
    });
  }
}

describe('authenticatePeer accepts', () => {
  it('a listed node of a member city, with or without its CA in the chain, PEM or DER', () => {
    const leaf = pki.beijingNode.cert.pem;
    const ca = pki.beijingCa.cert.pem;
    const der = (pem: string) => new X509Certificate(pem).raw;
    const expected = {
      spiffeId: BEIJING_NODE,
      cluster: 'jjj',
      city: 'beijing',
      nodeName: 'node-1',
      trustDomain: 'beijing.jjj.citymesh',
    };
    for (const chain of [[leaf, ca], [leaf], [der(leaf), der(ca)], [der(leaf)], [leaf, ca, pki.root.cert.pem]]) {
      expect(authenticatePeer(chain, options())).toMatchObject(expected);
    }
  });

  it('reuses a verified result for the same chain and metadata version, but not past the certificate', async () => {
    const opts = options({ exp: Math.floor(T0.getTime() / 1000) + 3 * 86_400 });
    const first = authenticatePeer([pki.beijingNode.cert.pem], opts);
    expect(authenticatePeer([pki.beijingNode.cert.pem], opts)).toBe(first);
    // The leaf lives 24 h from T0: the cached result must not outlive it.
    const later = { ...opts, now: new Date(T0.getTime() + 2 * DAY) };
    const err = await meshErrorOf(() => authenticatePeer([pki.beijingNode.cert.pem], later));
    expect([err.code, err.details.rule]).toEqual(['CERTIFICATE_EXPIRED', 'expired']);
  });
});

describe('authenticatePeer refuses', () => {
  it('a connection without a client certificate: CREDENTIALS_MISSING', async () => {
    for (const chain of [undefined, null, [], [''], [new Uint8Array()], peerChainOf(undefined), peerChainOf({})]) {
      const err = await meshErrorOf(() => authenticatePeer(chain as PeerCertificateChain, options()));
      expect([err.code, err.details.rule]).toEqual(['CREDENTIALS_MISSING', 'no-client-certificate']);
    }
  });

  it('any peer once the metadata has expired: METADATA_EXPIRED', async () => {
    const opts = options({ exp: Math.floor(NOW.getTime() / 1000) - 1 });
    const err = await meshErrorOf(() => authenticatePeer([pki.beijingNode.cert.pem], opts));
    expect(err.code).toBe('METADATA_EXPIRED');
  });

  it('a certificate of a revoked city: CITY_REVOKED', async () => {
    await refusedBoth(
      pki.tianjinNode.cert.pem,
      pki.tianjinCa.cert.pem,
      options({ revocations: [{ kind: 'city', id: 'tianjin' }] }),
      'CITY_REVOKED',
      'city-revoked',
    );
  });

  it('a Tianjin CA issuing a Beijing SPIFFE ID: CERTIFICATE_NAME_CONSTRAINT', async () => {
    const leaf = await forge({ issuer: pki.tianjinCa, subjectKeys: pki.spare[0]!, uris: [BEIJING_NODE] });
    await refusedBoth(leaf, pki.tianjinCa.cert.pem, options(), 'CERTIFICATE_NAME_CONSTRAINT', 'not-permitted');
  });

  it('an expired certificate: CERTIFICATE_EXPIRED', async () => {
    const leaf = await forge({
      issuer: pki.beijingCa,
      subjectKeys: pki.spare[0]!,
      uris: [BEIJING_NODE],
      notAfter: new Date(T0.getTime() + 30 * 60_000),
    });
    await refusedBoth(leaf, pki.beijingCa.cert.pem, options(), 'CERTIFICATE_EXPIRED', 'expired');
  });

  it('a certificate from a city CA the metadata does not list: CERTIFICATE_INVALID issuer-not-current', async () => {
    await refusedBoth(
      pki.beijingNodeOldCa.cert.pem,
      pki.beijingCaOld.cert.pem,
      options(),
      'CERTIFICATE_INVALID',
      'issuer-not-current',
    );
  });

  it('a certificate from a CA the anchor has since replaced, even when the old version had accepted it', async () => {
    const leaf = pki.beijingNodeOldCa.cert.pem;
    const chain = [leaf, pki.beijingCaOld.cert.pem];
    const cache = new PeerCache<ReturnType<typeof authenticatePeer>>();
    const withOldCa = (members: ReturnType<typeof metadataOf>['members']) =>
      members.map((m) => (m.city === 'beijing' ? { ...m, ca_certificates: [pki.beijingCaOld.cert.pem] } : m));
    const v7 = options({ version: 7, members: withOldCa }, { cache });
    expect(authenticatePeer(chain, v7).spiffeId).toBe(BEIJING_NODE);
    expect(authenticatePeer([leaf], v7).spiffeId).toBe(BEIJING_NODE);
    const v8 = options({ version: 8 }, { cache });
    for (const presented of [chain, [leaf]]) {
      const err = await meshErrorOf(() => authenticatePeer(presented, v8));
      expect([err.code, err.details.rule]).toEqual(['CERTIFICATE_INVALID', 'issuer-not-current']);
    }
  });

  it('a leaf signed directly by the cluster root: CERTIFICATE_INVALID issuer-not-current', async () => {
    const leaf = await forge({ issuer: pki.root, subjectKeys: pki.spare[0]!, uris: [BEIJING_NODE] });
    for (const chain of [[leaf], [leaf, pki.root.cert.pem]]) {
      const err = await meshErrorOf(() => authenticatePeer(chain, options()));
      expect([err.code, err.details.rule]).toEqual(['CERTIFICATE_INVALID', 'issuer-not-current']);
    }
  });

  it('a certificate of another cluster: CERTIFICATE_INVALID untrusted-root', async () => {
    const err = await meshErrorOf(() =>
      authenticatePeer([pki.shanghaiNode.cert.pem, pki.shanghaiCa.cert.pem], options()),
    );
    expect([err.code, err.details.rule]).toEqual(['CERTIFICATE_INVALID', 'untrusted-root']);
  });

  it('a certificate whose signature was altered: CERTIFICATE_INVALID', async () => {
    const der = Buffer.from(new X509Certificate(pki.beijingNode.cert.pem).raw);
    der[der.length - 1]! ^= 0x01;
    for (const chain of [[der, new X509Certificate(pki.beijingCa.cert.pem).raw], [der]]) {
      expect((await meshErrorOf(() => authenticatePeer(chain, options()))).code).toBe('CERTIFICATE_INVALID');
    }
  });

  it('a node not listed in the metadata: NOT_A_MEMBER node-not-member', async () => {
    const ghost = await leafUnder(pki.beijingCa, 'spiffe://beijing.jjj.citymesh/node/ghost');
    await refusedBoth(ghost.cert.pem, pki.beijingCa.cert.pem, options(), 'NOT_A_MEMBER', 'node-not-member');
  });

  it('an app or device certificate, which is no peer node: NOT_A_MEMBER not-a-node', async () => {
    const app = await leafUnder(pki.beijingCa, 'spiffe://beijing.jjj.citymesh/app/dashboard');
    await refusedBoth(app.cert.pem, pki.beijingCa.cert.pem, options(), 'NOT_A_MEMBER', 'not-a-node');
  });

  it('a city the metadata does not list: NOT_A_MEMBER city-not-member', async () => {
    const opts = options({ members: (members) => members.filter((m) => m.city !== 'tianjin') });
    const err = await meshErrorOf(() => authenticatePeer([pki.tianjinNode.cert.pem, pki.tianjinCa.cert.pem], opts));
    expect([err.code, err.details.rule]).toEqual(['NOT_A_MEMBER', 'city-not-member']);
  });

  it('a revoked node: NODE_REVOKED', async () => {
    const opts = options({ revocations: [{ kind: 'node', id: BEIJING_NODE }] });
    await refusedBoth(pki.beijingNode.cert.pem, pki.beijingCa.cert.pem, opts, 'NODE_REVOKED', 'node-revoked');
  });

  it('a revoked leaf serial or city CA serial: CERTIFICATE_INVALID certificate-revoked', async () => {
    for (const serial of [pki.beijingNode.cert.serial, pki.beijingCa.cert.serial.toUpperCase()]) {
      const opts = options({ revocations: [{ kind: 'certificate', id: serial }] });
      await refusedBoth(
        pki.beijingNode.cert.pem,
        pki.beijingCa.cert.pem,
        opts,
        'CERTIFICATE_INVALID',
        'certificate-revoked',
      );
    }
  });

  it('a revocation published in a new version, although the old version cached the peer', async () => {
    const cache = new PeerCache<ReturnType<typeof authenticatePeer>>();
    expect(authenticatePeer([pki.beijingNode.cert.pem], options({ version: 7 }, { cache })).city).toBe('beijing');
    const v8 = options({ version: 8, revocations: [{ kind: 'city', id: 'beijing' }] }, { cache });
    expect((await meshErrorOf(() => authenticatePeer([pki.beijingNode.cert.pem], v8))).code).toBe('CITY_REVOKED');
  });

  it('a chain whose presented CA is another, valid Beijing CA than the one that issued the leaf', async () => {
    const other = await cityCa(pki, 'beijing');
    const err = await meshErrorOf(() => authenticatePeer([pki.beijingNode.cert.pem, other.cert.pem], options()));
    expect([err.code, err.details.rule]).toEqual(['CERTIFICATE_INVALID', 'signature']);
  });
});

describe('peerChainOf (grpc-js auth context)', () => {
  it('reads the leaf and follows issuerCertificate links until a self-reference', () => {
    const leaf = new X509Certificate(pki.beijingNode.cert.pem).raw;
    const ca = new X509Certificate(pki.beijingCa.cert.pem).raw;
    const root: { raw: Buffer; issuerCertificate?: unknown } = { raw: new X509Certificate(pki.root.cert.pem).raw };
    root.issuerCertificate = root;
    const context = { sslPeerCertificate: { raw: leaf, issuerCertificate: { raw: ca, issuerCertificate: root } } };
    const chain = peerChainOf(context as Parameters<typeof peerChainOf>[0]);
    expect(chain.map((c) => Buffer.from(c).equals(leaf))).toEqual([true, false, false]);
    expect(authenticatePeer(chain, options()).spiffeId).toBe(BEIJING_NODE);
    expect(peerChainOf({ sslPeerCertificate: { raw: leaf } })).toHaveLength(1);
  });
});
