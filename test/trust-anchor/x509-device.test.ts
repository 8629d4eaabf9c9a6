import { type webcrypto, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { calculateJwkThumbprint } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  createCsr,
  type EcKeyPair,
  exportPrivateKeyPem,
  issueSpiffeLeaf,
  parseCsr,
  type VerifyCertificatePathOptions,
  verifyCertificatePath,
} from '../../trust-anchor/x509/index.js';
import { subtle, x509 } from '../../trust-anchor/x509/provider.js';
import { buildPki, CLIENT_AUTH, forge, HOUR, SERVER_AUTH, T0, type TestPki } from './fixtures/x509/pki.js';

/**
 * The `device` leaf profile: Ed25519 (or P-256) device keys certified by the city CA's
 * P-256 key, EKU clientAuth only, and never mistaken for a node SVID (device-identity.md §5.5).
 */

const NOW = new Date(T0.getTime() + HOUR);
const DEVICE = 'spiffe://beijing.jjj.citymesh/device/cam-0001';
const NODE = 'spiffe://beijing.jjj.citymesh/node/node-9';
const ANY_EKU = '2.5.29.37.0';

let pki: TestPki;
let ed: EcKeyPair;
let p384: EcKeyPair;

const pairOf = async (algorithm: { name: string; namedCurve?: string }): Promise<EcKeyPair> => {
  const pair = (await subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, kid: '' };
};

beforeAll(async () => {
  pki = await buildPki();
  [ed, p384] = await Promise.all([pairOf({ name: 'Ed25519' }), pairOf({ name: 'ECDSA', namedCurve: 'P-384' })]);
});

async function refusal(run: () => unknown): Promise<MeshError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error('it was accepted');
}

const ruleOf = async (run: () => unknown) => {
  const err = await refusal(run);
  return `${err.code} ${String(err.details.rule)}`;
};

const issue = (csrPem: string, options: { spiffeId?: string; profile?: 'node' | 'device'; dnsNames?: string[] } = {}) =>
  issueSpiffeLeaf({
    csrPem,
    spiffeId: options.spiffeId ?? DEVICE,
    issuerCertPem: pki.beijingCa.cert.pem,
    issuerKeys: pki.beijingCa.keys,
    now: NOW,
    lifetimeHours: 24,
    ...(options.dnsNames === undefined ? {} : { dnsNames: options.dnsNames }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
  });

const verify = (leafPem: string, extra: Partial<VerifyCertificatePathOptions> = {}) =>
  verifyCertificatePath({
    leafPem,
    chainPems: [pki.beijingCa.cert.pem],
    rootPems: [pki.root.cert.pem],
    now: NOW,
    ...extra,
  });

/** Re-signs nothing: swaps the CSR's signature algorithm identifier, as an algorithm-confusion attacker would. */
function withSignatureAlgorithm(csrPem: string, oid: string): string {
  const request = AsnConvert.parse(x509.PemConverter.decodeFirst(csrPem), CertificationRequest);
  request.signatureAlgorithm = new AlgorithmIdentifier({ algorithm: oid });
  return `${x509.PemConverter.encode(AsnConvert.serialize(request), 'CERTIFICATE REQUEST')}\n`;
}

describe('device CSRs', () => {
  it('accepts an Ed25519 CSR in the device profile only, with its RFC 7638 thumbprint as kid', async () => {
    const csrPem = await createCsr({ keys: ed, subjectCn: 'cam-0001', spiffeId: DEVICE });
    expect(await ruleOf(() => parseCsr(csrPem))).toBe('MALFORMED_REQUEST key-algorithm');
    const parsed = await parseCsr(csrPem, { profile: 'device' });
    expect(parsed.keyAlgorithm).toBe('Ed25519');
    expect(parsed.uris).toEqual([DEVICE]);
    const { x } = await subtle.exportKey('jwk', ed.publicKey);
    expect(parsed.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: x! }));
    // A P-256 request is a device request too.
    expect(
      (await parseCsr(await createCsr({ keys: pki.spare[0]!, subjectCn: 'cam' }), { profile: 'device' })).kid,
    ).toBe(pki.spare[0]!.kid);
  });

  it('refuses a tampered Ed25519 CSR, a mismatched signature algorithm and other key types', async () => {
    const csrPem = await createCsr({ keys: ed, subjectCn: 'cam-0001' });
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    der[der.length - 1]! ^= 0x01;
    const tampered = `${x509.PemConverter.encode(der, 'CERTIFICATE REQUEST')}\n`;
    expect(await ruleOf(() => parseCsr(tampered, { profile: 'device' }))).toBe('MALFORMED_REQUEST signature');
    // An Ed25519 key claiming ecdsa-with-SHA256, and a P-256 key claiming Ed25519.
    const confused = withSignatureAlgorithm(csrPem, '1.2.840.10045.4.3.2');
    expect(await ruleOf(() => parseCsr(confused, { profile: 'device' }))).toBe('MALFORMED_REQUEST signature');
    const p256 = withSignatureAlgorithm(await createCsr({ keys: pki.spare[0]!, subjectCn: 'cam' }), '1.3.101.112');
    expect(await ruleOf(() => parseCsr(p256, { profile: 'device' }))).toBe('MALFORMED_REQUEST signature');
    const p384Csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=cam',
      keys: p384,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    });
    const err = await refusal(() => parseCsr(p384Csr.toString('pem'), { profile: 'device' }));
    expect(err.details.rule).toBe('key-algorithm');
    expect(err.message).toMatch(/P-256 ECDSA or Ed25519/);
    await expect(parseCsr(csrPem, { profile: 'server' as 'node' })).rejects.toThrow(TypeError);
  });
});

describe('device leaves', () => {
  it('issues an Ed25519 key a client-only leaf signed by the P-256 city CA, which verifies as a device only', async () => {
    const leaf = await issue(await createCsr({ keys: ed, subjectCn: 'cam-0001' }), { profile: 'device' });
    const cert = new X509Certificate(leaf.pem);
    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(cert.verify(new X509Certificate(pki.beijingCa.cert.pem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe(`URI:${DEVICE}`);
    expect(new x509.X509Certificate(leaf.pem).getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([
      CLIENT_AUTH,
    ]);
    expect(verify(leaf.pem, { profile: 'device' })).toMatchObject({ spiffeId: DEVICE, kind: 'device' });
    // Where a node or app SVID is expected (the default profile), it is refused.
    expect(await ruleOf(() => verify(leaf.pem))).toBe('CERTIFICATE_INVALID leaf-extended-key-usage');
  });

  it('keeps node SVIDs as they were, and keeps the two profiles apart', async () => {
    const edCsr = await createCsr({ keys: ed, subjectCn: 'cam-0001' });
    const p256Csr = await createCsr({ keys: pki.spare[0]!, subjectCn: 'x' });
    expect(await ruleOf(() => issue(edCsr, { spiffeId: NODE }))).toBe('MALFORMED_REQUEST key-algorithm');
    expect(await ruleOf(() => issue(p256Csr))).toBe('MALFORMED_REQUEST leaf-profile');
    expect(await ruleOf(() => issue(p256Csr, { spiffeId: NODE, profile: 'device' }))).toBe(
      'MALFORMED_REQUEST leaf-profile',
    );
    expect(await ruleOf(() => issue(edCsr, { profile: 'device', dnsNames: ['localhost'] }))).toBe(
      'MALFORMED_REQUEST leaf-profile',
    );
    const node = await issue(p256Csr, { spiffeId: NODE, dnsNames: ['localhost'] });
    expect(new x509.X509Certificate(node.pem).getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([
      SERVER_AUTH,
      CLIENT_AUTH,
    ]);
    expect(verify(node.pem).spiffeId).toBe(NODE);
    expect(await ruleOf(() => verify(node.pem, { profile: 'device' }))).toBe(
      'CERTIFICATE_INVALID leaf-extended-key-usage',
    );
    expect(() => verify(node.pem, { profile: 'gateway' as 'node' })).toThrow(TypeError);
  });

  // What a holder of the city CA key could sign, bypassing the issuer: the verifier refuses it all.
  it.each([
    ['a device leaf that also serves TLS', { eku: [SERVER_AUTH, CLIENT_AUTH] }, 'leaf-extended-key-usage'],
    ['a device leaf with anyExtendedKeyUsage', { eku: [CLIENT_AUTH, ANY_EKU] }, 'leaf-extended-key-usage'],
    ['a device leaf without EKU', { eku: null }, 'leaf-extended-key-usage'],
    ['a node id in a client-only leaf', { eku: [CLIENT_AUTH], uris: [NODE] }, 'leaf-profile'],
    ['a device leaf with a DNS name', { eku: [CLIENT_AUTH], dnsNames: ['localhost'] }, 'leaf-profile'],
    ['a P-384 device key', { eku: [CLIENT_AUTH], keys: 'p384' }, 'leaf-key-algorithm'],
  ] as const)('refuses %s in the device profile', async (_name, forged, rule) => {
    const leafPem = await forge({
      issuer: pki.beijingCa,
      subjectKeys: 'keys' in forged ? p384 : ed,
      uris: 'uris' in forged ? [...forged.uris] : [DEVICE],
      eku: forged.eku === null ? null : [...forged.eku],
      ...('dnsNames' in forged ? { dnsNames: [...forged.dnsNames] } : {}),
      notBefore: T0,
    });
    expect(await ruleOf(() => verify(leafPem, { profile: 'device' }))).toBe(`CERTIFICATE_INVALID ${rule}`);
  });

  it('refuses, in the node profile, a device id with both EKUs and an Ed25519 node key', async () => {
    const deviceAsNode = await forge({
      issuer: pki.beijingCa,
      subjectKeys: pki.spare[0]!,
      uris: [DEVICE],
      notBefore: T0,
    });
    expect(await ruleOf(() => verify(deviceAsNode))).toBe('CERTIFICATE_INVALID leaf-profile');
    const edNode = await forge({ issuer: pki.beijingCa, subjectKeys: ed, uris: [NODE], notBefore: T0 });
    expect(await ruleOf(() => verify(edNode))).toBe('CERTIFICATE_INVALID leaf-key-algorithm');
  });
});

describe('device certificates over TLS 1.3 (OpenSSL)', () => {
  /** One TLS 1.3 handshake on loopback; the side that verifies rejects what OpenSSL refuses. */
  async function handshake(server: { key: string; cert: string }, client: { key: string; cert: string }, ca: string) {
    const srv = tls.createServer({ ...server, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    const accepted = new Promise<{ peer: string; protocol: string | null }>((resolve) =>
      srv.on('secureConnection', (socket) => {
        resolve({ peer: socket.getPeerCertificate().subjectaltname ?? '', protocol: socket.getProtocol() });
        socket.end('ok');
      }),
    );
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as AddressInfo;
    try {
      return await new Promise<{ peer: string; protocol: string | null }>((resolve, reject) => {
        // No host-name check: the purpose check alone decides (citymesh identifies by URI SAN).
        const socket = tls.connect({ host: '127.0.0.1', port, ca, ...client, checkServerIdentity: () => undefined });
        socket.on('data', () => {
          socket.destroy();
          resolve(accepted);
        });
        socket.on('error', reject);
      });
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
  }

  it('authenticates an Ed25519 client-only device certificate, which cannot serve TLS itself', async () => {
    const live = await buildPki(new Date());
    const leaf = await issueSpiffeLeaf({
      csrPem: await createCsr({ keys: ed, subjectCn: 'cam-0001' }),
      spiffeId: DEVICE,
      issuerCertPem: live.beijingCa.cert.pem,
      issuerKeys: live.beijingCa.keys,
      now: new Date(),
      lifetimeHours: 1,
      profile: 'device',
    });
    const device = { key: await exportPrivateKeyPem(ed), cert: `${leaf.pem}${live.beijingCa.cert.pem}` };
    const node = {
      key: await exportPrivateKeyPem(live.beijingNode.keys),
      cert: `${live.beijingNode.cert.pem}${live.beijingCa.cert.pem}`,
    };
    const root = live.root.cert.pem;
    expect(await handshake(node, device, root)).toEqual({ peer: `URI:${DEVICE}`, protocol: 'TLSv1.3' });
    // The same certificate as a server: the client's OpenSSL refuses its purpose.
    await expect(handshake(device, node, root)).rejects.toMatchObject({ code: 'INVALID_PURPOSE' });
  });
});
