import { createHash, type webcrypto, X509Certificate } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MeshError } from '../../../common/errors/mesh-error.js';
import type { DeviceStore } from '../../../common/stores/device-store.js';
import type { PublicJwk } from '../../../common/stores/json.js';
import {
  type AuthenticateDeviceCertificateOptions,
  authenticateDeviceCertificate,
  issueDeviceCertificate,
} from '../../../nodes/devices/auth/index.js';
import { openMemoryStores } from '../../../stores/index.js';
import { createCsr, type EcKeyPair } from '../../../trust-anchor/index.js';
import { subtle, x509 } from '../../../trust-anchor/x509/provider.js';
import {
  buildPki,
  CLIENT_AUTH,
  DAY,
  forge,
  HOUR,
  SERVER_AUTH,
  T0,
  type TestPki,
} from '../../trust-anchor/fixtures/x509/pki.js';

/**
 * Devices holding Ed25519 keys get city-CA certificates through an Ed25519 CSR, client-only
 * (device-identity.md §5.5), and authenticate with them; certificates outside the device
 * profile are refused even when registered.
 */

const NOW = new Date(T0.getTime() + HOUR);
const SPIFFE = 'spiffe://beijing.jjj.citymesh/device/aq-ed';

let pki: TestPki;
let edKeys: EcKeyPair;
let strangerKeys: EcKeyPair;
let store: DeviceStore;

async function ed25519(): Promise<EcKeyPair> {
  const pair = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, kid: '' };
}

beforeAll(async () => {
  pki = await buildPki();
  [edKeys, strangerKeys] = await Promise.all([ed25519(), ed25519()]);
});

beforeEach(async () => {
  store = openMemoryStores().devices;
  const { x } = await subtle.exportKey('jwk', edKeys.publicKey);
  const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: x! } as PublicJwk;
  await store.importBatch([
    {
      city: 'beijing',
      deviceId: 'aq-ed',
      type: 'pm25-monitor',
      industry: 'environment',
      regionCode: '110105',
      ownerOrg: 'ecology-bureau',
      status: 'active',
      credentials: [
        { credentialId: 'ed1', kind: 'jwk', publicJwk, notBefore: T0, notAfter: new Date(T0.getTime() + 90 * DAY) },
      ],
      createdAt: T0,
      updatedAt: T0,
    },
  ]);
});

const issue = async (keys: EcKeyPair) =>
  issueDeviceCertificate({
    csrPem: await createCsr({ keys, subjectCn: 'aq-ed' }),
    device: (await store.get('beijing', 'aq-ed'))!,
    cluster: 'jjj',
    cityCa: { certificatePem: pki.beijingCa.cert.pem, key: { pair: pki.beijingCa.keys } },
    rootPems: [pki.root.cert.pem],
    now: NOW,
    lifetimeHours: 24,
  });

const authOptions: () => AuthenticateDeviceCertificateOptions = () => ({
  cluster: 'jjj',
  city: 'beijing',
  cityCaPems: [pki.beijingCa.cert.pem],
  rootPems: [pki.root.cert.pem],
  lookup: (city, id) => store.get(city, id),
  now: NOW,
});

async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    if (err instanceof MeshError) return `${err.code} ${String(err.details.rule)}`;
    throw err;
  }
  throw new Error('it was accepted');
}

describe('Ed25519 device certificates', () => {
  it('issues a client-only certificate for the registered Ed25519 key, which then authenticates', async () => {
    const issued = await issue(edKeys);
    const cert = new X509Certificate(issued.pem);
    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(cert.subjectAltName).toBe(`URI:${SPIFFE}`);
    const eku = new x509.X509Certificate(issued.pem).getExtension(x509.ExtendedKeyUsageExtension)!;
    expect(eku.usages).toEqual([CLIENT_AUTH]);
    await store.addCredential('beijing', 'aq-ed', issued.credential, NOW);
    const result = await authenticateDeviceCertificate([new Uint8Array(cert.raw)], authOptions());
    expect(result).toMatchObject({ spiffeId: SPIFFE, credentialId: issued.credential.credentialId });
  });

  it('refuses an Ed25519 CSR for a key the device has not registered', async () => {
    expect(await refusal(() => issue(strangerKeys))).toBe('MALFORMED_REQUEST csr-key-unregistered');
  });

  it('refuses a registered device certificate that could also serve TLS (forged with the CA key)', async () => {
    const pem = await forge({
      issuer: pki.beijingCa,
      subjectKeys: edKeys,
      uris: [SPIFFE],
      eku: [SERVER_AUTH, CLIENT_AUTH],
      notBefore: T0,
    });
    const certificateSha256 = createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
    await store.addCredential(
      'beijing',
      'aq-ed',
      {
        credentialId: 'forged',
        kind: 'x509',
        certificateSha256,
        notBefore: T0,
        notAfter: new Date(T0.getTime() + DAY),
      },
      NOW,
    );
    expect(await refusal(() => authenticateDeviceCertificate([pem], authOptions()))).toBe(
      'CERTIFICATE_INVALID leaf-extended-key-usage',
    );
  });
});
