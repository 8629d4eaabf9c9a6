import { webcrypto, X509Certificate } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { Device, DeviceStore } from '../../../common/stores/device-store.js';
import type { PublicJwk } from '../../../common/stores/json.js';
import {
  type AuthenticateDeviceCertificateOptions,
  authenticateDeviceCertificate,
  type IssueDeviceCertificateOptions,
  issueDeviceCertificate,
} from '../../../nodes/devices/auth/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import { createCsr, type EcKeyPair, exportPublicJwk, generateEcKeyPair } from '../../../trust-anchor/index.js';
import { x509 } from '../../../trust-anchor/x509/provider.js';
import { buildPki, type Credential, DAY, HOUR, T0, type TestPki } from '../../trust-anchor/fixtures/x509/pki.js';

/**
 * Device X.509-SVIDs: issued from the city CA through a CSR, then authenticated only while
 * they chain to this city's CA, name an active device of this city, and are registered
 * as one of its credentials (device-identity.md §5.5).
 */

const NOW = new Date(T0.getTime() + HOUR);
const SPIFFE = 'spiffe://beijing.jjj.citymesh/device/cam-0001';

let pki: TestPki;
let camKeys: EcKeyPair;
let otherKeys: EcKeyPair;
let store: DeviceStore;

beforeAll(async () => {
  pki = await buildPki();
  [camKeys, otherKeys] = await Promise.all([generateEcKeyPair(), generateEcKeyPair()]);
});

function device(deviceId: string, jwk: PublicJwk, city = 'beijing'): Device {
  return {
    city,
    deviceId,
    type: 'transport/traffic-camera',
    industry: 'transport',
    regionCode: city === 'beijing' ? '110105' : '120101',
    ownerOrg: 'traffic-bureau',
    status: 'active',
    credentials: [
      { credentialId: 'k1', kind: 'jwk', publicJwk: jwk, notBefore: T0, notAfter: new Date(T0.getTime() + 90 * DAY) },
    ],
    createdAt: T0,
    updatedAt: T0,
  };
}

beforeEach(async () => {
  store = openMemoryStores().devices;
  const camJwk = { ...(await exportPublicJwk(camKeys.publicKey)) } as PublicJwk;
  const otherJwk = { ...(await exportPublicJwk(otherKeys.publicKey)) } as PublicJwk;
  await store.importBatch([
    device('cam-0001', camJwk),
    device('cam-0002', otherJwk),
    device('cam-0001', camJwk, 'tianjin'),
  ]);
});

const csrFor = (keys: EcKeyPair, spiffeId?: string) =>
  createCsr({ keys, subjectCn: 'cam', ...(spiffeId === undefined ? {} : { spiffeId }) });

async function issue(
  deviceId = 'cam-0001',
  overrides: Partial<IssueDeviceCertificateOptions> = {},
  ca: Credential = pki.beijingCa,
  city = 'beijing',
) {
  const stored = (await store.get(city, deviceId))!;
  return issueDeviceCertificate({
    csrPem: await csrFor(deviceId === 'cam-0001' ? camKeys : otherKeys),
    device: stored,
    cluster: 'jjj',
    cityCa: { certificatePem: ca.cert.pem, key: { pair: ca.keys } },
    rootPems: [pki.root.cert.pem],
    now: NOW,
    lifetimeHours: 24,
    ...overrides,
  });
}

/** Issues cam-0001 a certificate and registers it as its credential. */
async function registered() {
  const issued = await issue();
  await store.addCredential('beijing', 'cam-0001', issued.credential, NOW);
  return issued;
}

const authOptions = (
  overrides: Partial<AuthenticateDeviceCertificateOptions> = {},
): AuthenticateDeviceCertificateOptions => ({
  cluster: 'jjj',
  city: 'beijing',
  cityCaPems: [pki.beijingCa.cert.pem],
  rootPems: [pki.root.cert.pem],
  lookup: (city, id) => store.get(city, id),
  now: NOW,
  ...overrides,
});

async function refusal(run: () => Promise<unknown>): Promise<MeshError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error('it was accepted');
}

async function expectRefused(run: () => Promise<unknown>, code: string, rule: string): Promise<void> {
  const err = await refusal(run);
  expect({ code: err.code, rule: err.details.rule }).toEqual({ code, rule });
}

/** Flips the last byte of a PEM block's DER: inside the signature, which stays well-formed DER. */
function tamperPem(pem: string, label: string): string {
  const der = Buffer.from(x509.PemConverter.decodeFirst(pem));
  der[der.length - 1] = der[der.length - 1]! ^ 0x01;
  return `${x509.PemConverter.encode(der, label)}\n`;
}

describe('issuing through a CSR', () => {
  it('issues a leaf naming the device as its only URI SAN, with the credential that registers it', async () => {
    const issued = await issue();
    const cert = new X509Certificate(issued.pem);
    expect(cert.subjectAltName).toBe(`URI:${SPIFFE}`);
    expect(cert.checkIssued(new X509Certificate(pki.beijingCa.cert.pem))).toBe(true);
    expect(issued.certificateSha256).toBe(cert.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(issued.credential).toEqual({
      credentialId: `x509-${issued.certificateSha256.slice(0, 16)}`,
      kind: 'x509',
      certificateSha256: issued.certificateSha256,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
    });
    expect(issued.notAfter.getTime() - NOW.getTime()).toBe(24 * HOUR);
    expect(issued.chainPem).toBe(`${issued.pem}${pki.beijingCa.cert.pem}`);
  });

  it('refuses a CSR whose signature does not verify (no proof of possession)', async () => {
    const csrPem = tamperPem(await csrFor(camKeys), 'CERTIFICATE REQUEST');
    await expectRefused(() => issue('cam-0001', { csrPem }), 'MALFORMED_REQUEST', 'signature');
  });

  it('refuses a CSR for a key that is not a credential of the device, unless told to certify a new key', async () => {
    const csrPem = await csrFor(otherKeys);
    await expectRefused(() => issue('cam-0001', { csrPem }), 'MALFORMED_REQUEST', 'csr-key-unregistered');
    await expect(issue('cam-0001', { csrPem, requireRegisteredKey: false })).resolves.toBeDefined();
  });

  it('refuses a CSR that asks for another SPIFFE id', async () => {
    const csrPem = await csrFor(camKeys, 'spiffe://beijing.jjj.citymesh/device/cam-0002');
    await expectRefused(() => issue('cam-0001', { csrPem }), 'MALFORMED_REQUEST', 'csr-spiffe-id');
  });

  it('refuses a CSR for a key type devices do not use (P-384)', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=cam',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    });
    await expectRefused(() => issue('cam-0001', { csrPem: csr.toString('pem') }), 'MALFORMED_REQUEST', 'key-algorithm');
  });

  it('refuses a lifetime beyond the device profile', async () => {
    await expectRefused(() => issue('cam-0001', { lifetimeHours: 24 * 31 }), 'MALFORMED_REQUEST', 'lifetime');
  });

  it('refuses to certify a device whose credential slots are full', async () => {
    await store.addCredential('beijing', 'cam-0001', (await issue()).credential, NOW);
    await store.addCredential('beijing', 'cam-0001', (await issue()).credential, NOW);
    await expectRefused(() => issue(), 'MALFORMED_REQUEST', 'credentials-full');
  });

  it('refuses to certify a suspended device', async () => {
    await store.setStatus('beijing', 'cam-0001', 'suspended', NOW);
    await expectRefused(() => issue(), 'DEVICE_SUSPENDED', 'device-suspended');
  });

  it("refuses to name another city's device with this city's CA", async () => {
    const err = await refusal(() => issue('cam-0001', {}, pki.beijingCa, 'tianjin'));
    expect(err.code).toBe('CERTIFICATE_NAME_CONSTRAINT');
  });
});

describe('authenticating by certificate', () => {
  it('accepts an issued, registered certificate (PEM or DER, with or without its chain)', async () => {
    const issued = await registered();
    const result = await authenticateDeviceCertificate([issued.pem, pki.beijingCa.cert.pem], authOptions());
    expect(result).toMatchObject({ spiffeId: SPIFFE, credentialId: issued.credential.credentialId });
    expect(result.device.deviceId).toBe('cam-0001');
    expect(result.expiresAt).toEqual(issued.notAfter);
    const der = new Uint8Array(new X509Certificate(issued.pem).raw);
    await expect(authenticateDeviceCertificate([der], authOptions())).resolves.toMatchObject({ spiffeId: SPIFFE });
  });

  it('refuses a certificate issued but never registered', async () => {
    const issued = await issue();
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem], authOptions()),
      'CERTIFICATE_INVALID',
      'credential-unknown',
    );
  });

  it('refuses a certificate registered on another device than the one it names', async () => {
    const issued = await issue();
    await store.addCredential('beijing', 'cam-0002', issued.credential, NOW);
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem], authOptions()),
      'CERTIFICATE_INVALID',
      'credential-unknown',
    );
  });

  it('refuses it at once after its credential is removed', async () => {
    const issued = await registered();
    await authenticateDeviceCertificate([issued.pem], authOptions());
    await store.removeCredential('beijing', 'cam-0001', issued.credential.credentialId, NOW);
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem], authOptions()),
      'CERTIFICATE_INVALID',
      'credential-unknown',
    );
  });

  it('refuses it when the credential window has closed, even inside the path leeway', async () => {
    const issued = await registered();
    const now = new Date(issued.notAfter.getTime() + 1000);
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem], authOptions({ now })),
      'CERTIFICATE_EXPIRED',
      'credential-expired',
    );
  });

  it('refuses a suspended device at once, and a revoked one', async () => {
    const issued = await registered();
    await store.setStatus('beijing', 'cam-0001', 'suspended', NOW);
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem], authOptions()),
      'DEVICE_SUSPENDED',
      'device-suspended',
    );
    await store.setStatus('beijing', 'cam-0001', 'revoked', NOW);
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem], authOptions()),
      'DEVICE_REVOKED',
      'device-revoked',
    );
  });

  it('refuses the certificate of a device of another city', async () => {
    const issued = await issue('cam-0001', {}, pki.tianjinCa, 'tianjin');
    await store.addCredential('tianjin', 'cam-0001', issued.credential, NOW);
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem, pki.tianjinCa.cert.pem], authOptions()),
      'DEVICE_WRONG_CITY',
      'device-city',
    );
  });

  it('refuses a tampered certificate, a revoked serial, a node SVID and an empty chain', async () => {
    const issued = await registered();
    const tampered = tamperPem(issued.pem, 'CERTIFICATE');
    await expectRefused(
      () => authenticateDeviceCertificate([tampered], authOptions()),
      'CERTIFICATE_INVALID',
      'signature',
    );
    const revokedSerials = [issued.serial];
    await expectRefused(
      () => authenticateDeviceCertificate([issued.pem], authOptions({ revokedSerials })),
      'CERTIFICATE_INVALID',
      'revoked',
    );
    await expectRefused(
      () => authenticateDeviceCertificate([pki.beijingNode.cert.pem], authOptions()),
      'PEER_IDENTITY_MISMATCH',
      'device-kind',
    );
    await expectRefused(
      () => authenticateDeviceCertificate([], authOptions()),
      'CREDENTIALS_MISSING',
      'no-certificate',
    );
  });
});
