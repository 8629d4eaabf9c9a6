import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  canonicalSerial,
  createCsr,
  exportPrivateKeyPem,
  exportPublicJwk,
  exportPublicKeyPem,
  importPrivateKeyPem,
  importPublicKeyPem,
  issueCityIntermediateCa,
  issueSpiffeLeaf,
  parseCsr,
  verifyCertificatePath,
} from '../../trust-anchor/x509/index.js';
import { readNameConstraints } from '../../trust-anchor/x509/name-constraints.js';
import { x509 } from '../../trust-anchor/x509/provider.js';
import { buildPki, DAY, HOUR, T0, type TestPki } from './fixtures/x509/pki.js';

let pki: TestPki;

beforeAll(async () => {
  pki = await buildPki();
});

async function rejection(promise: Promise<unknown>): Promise<MeshError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error('expected a MeshError');
}

describe('keys', () => {
  it('round-trips a P-256 private key through PKCS#8 PEM with the same kid', async () => {
    const keys = pki.spare[0]!;
    const pem = await exportPrivateKeyPem(keys);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const back = await importPrivateKeyPem(pem);
    expect(back.kid).toBe(keys.kid);
    // The imported key signs what the original public key verifies.
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(back.privateKey);
    await expect(jwtVerify(jwt, keys.publicKey)).resolves.toBeTruthy();
  });

  it('uses the RFC 7638 thumbprint of the public JWK as kid', async () => {
    const keys = pki.spare[1]!;
    const jwk = await exportPublicJwk(keys.publicKey);
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'x', 'y']);
    expect(jwk.kid).toBe(keys.kid);
    expect(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y })).toBe(keys.kid);
    await expect(importJWK(jwk, 'ES256')).resolves.toBeTruthy();
  });

  it('round-trips a public key through SPKI PEM', async () => {
    const pem = await exportPublicKeyPem(pki.spare[0]!.publicKey);
    const back = await importPublicKeyPem(pem);
    expect((await exportPublicJwk(back)).kid).toBe(pki.spare[0]!.kid);
  });

  it('refuses a PEM that is not a P-256 PKCS#8 key as a malformed request', async () => {
    const err = await rejection(importPrivateKeyPem(pki.root.cert.pem));
    expect(err.code).toBe('MALFORMED_REQUEST');
    expect(err.details).toMatchObject({ field: 'privateKeyPem', rule: 'pem' });
  });
});

describe('CSRs', () => {
  it('parses a CSR, verifying its signature and returning key and requested SANs', async () => {
    const keys = pki.spare[0]!;
    const pem = await createCsr({
      keys,
      subjectCn: 'node-7',
      spiffeId: 'spiffe://beijing.jjj.citymesh/node/node-7',
      dnsNames: ['localhost'],
    });
    const csr = await parseCsr(pem);
    expect(csr).toMatchObject({
      subjectCn: 'node-7',
      kid: keys.kid,
      uris: ['spiffe://beijing.jjj.citymesh/node/node-7'],
      dnsNames: ['localhost'],
    });
  });

  it('refuses a CSR whose signature was tampered with, naming the CSR', async () => {
    const pem = await createCsr({ keys: pki.spare[0]!, subjectCn: 'node-7' });
    const der = Buffer.from(x509.PemConverter.decodeFirst(pem));
    der[der.length - 1] = der[der.length - 1]! ^ 0x01;
    const err = await rejection(parseCsr(x509.PemConverter.encode(der, 'CERTIFICATE REQUEST')));
    expect(err.code).toBe('MALFORMED_REQUEST');
    expect(err.details).toMatchObject({ field: 'csrPem', rule: 'signature' });
    expect(err.message).toContain('csrPem');
  });

  it('refuses a certificate passed as a CSR', async () => {
    const err = await rejection(parseCsr(pki.beijingNode.cert.pem));
    expect(err.details).toMatchObject({ field: 'csrPem', rule: 'pem' });
  });

  it('refuses to request an invalid SPIFFE ID', async () => {
    await expect(
      createCsr({ keys: pki.spare[0]!, subjectCn: 'x', spiffeId: 'spiffe://beijing.jjj.example/node/a' }),
    ).rejects.toMatchObject({
      code: 'INVALID_IDENTIFIER',
    });
  });
});

describe('cluster root and city CA', () => {
  it('creates a self-signed root with CA pathLen 1, keyCertSign + cRLSign, SKI and the cluster name constraint', () => {
    const root = new x509.X509Certificate(pki.root.cert.pem);
    expect(root.subject).toBe('O=citymesh, CN=citymesh jjj root');
    expect(root.issuer).toBe(root.subject);
    const bc = root.getExtension(x509.BasicConstraintsExtension)!;
    expect({ ca: bc.ca, pathLength: bc.pathLength, critical: bc.critical }).toEqual({
      ca: true,
      pathLength: 1,
      critical: true,
    });
    expect(root.getExtension(x509.KeyUsagesExtension)!.usages).toBe(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    expect(root.getExtension(x509.SubjectKeyIdentifierExtension)).not.toBeNull();
    expect(readNameConstraints(root)?.permitted).toEqual([{ type: 'uri', value: '.jjj.citymesh' }]);
    expect(
      new NodeX509Certificate(pki.root.cert.pem).verify(new NodeX509Certificate(pki.root.cert.pem).publicKey),
    ).toBe(true);
    expect(pki.root.cert.notAfter.getTime() - T0.getTime()).toBe(3650 * DAY);
  });

  it('issues a city CA with pathLen 0, its trust domain as the only permitted URI host and as its URI SAN', () => {
    const ca = new x509.X509Certificate(pki.beijingCa.cert.pem);
    const bc = ca.getExtension(x509.BasicConstraintsExtension)!;
    expect({ ca: bc.ca, pathLength: bc.pathLength }).toEqual({ ca: true, pathLength: 0 });
    const nc = ca.getExtension('2.5.29.30')!;
    expect(nc.critical).toBe(true);
    expect(readNameConstraints(ca)).toEqual({
      permitted: [{ type: 'uri', value: 'beijing.jjj.citymesh' }],
      excluded: [],
      usesDistances: false,
    });
    const san = ca.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.names.items.map((n) => [n.type, n.value])).toEqual([['url', 'spiffe://beijing.jjj.citymesh']]);
    const aki = ca.getExtension(x509.AuthorityKeyIdentifierExtension)!;
    expect(aki.keyId).toBe(
      new x509.X509Certificate(pki.root.cert.pem).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
    );
  });

  it('refuses to issue a CA for a city of another cluster under the jjj root', async () => {
    const keys = pki.spare[0]!;
    const err = await rejection(
      issueCityIntermediateCa({
        csrPem: await createCsr({ keys, subjectCn: 'shanghai ca' }),
        cluster: 'prd',
        city: 'shanghai',
        issuerCertPem: pki.root.cert.pem,
        issuerKeys: pki.root.keys,
        now: T0,
        lifetimeHours: 24,
      }),
    );
    expect(err.code).toBe('CERTIFICATE_NAME_CONSTRAINT');
  });

  it('refuses to issue a CA under a city CA (pathLen 0)', async () => {
    const err = await rejection(
      issueCityIntermediateCa({
        csrPem: await createCsr({ keys: pki.spare[0]!, subjectCn: 'sub ca' }),
        cluster: 'jjj',
        city: 'beijing',
        issuerCertPem: pki.beijingCa.cert.pem,
        issuerKeys: pki.beijingCa.keys,
        now: T0,
        lifetimeHours: 24,
      }),
    );
    expect(err.details).toMatchObject({ rule: 'path-length' });
  });

  it('refuses a CSR that asks for another trust domain than the city being certified', async () => {
    const err = await rejection(
      issueCityIntermediateCa({
        csrPem: await createCsr({ keys: pki.spare[0]!, subjectCn: 'ca', spiffeId: 'spiffe://tianjin.jjj.citymesh' }),
        cluster: 'jjj',
        city: 'beijing',
        issuerCertPem: pki.root.cert.pem,
        issuerKeys: pki.root.keys,
        now: T0,
        lifetimeHours: 24,
      }),
    );
    expect(err).toMatchObject({ code: 'MALFORMED_REQUEST', details: { field: 'csrPem', rule: 'csr-spiffe-id' } });
  });
});

describe('SPIFFE leaves', () => {
  const base = () => ({
    issuerCertPem: pki.beijingCa.cert.pem,
    issuerKeys: pki.beijingCa.keys,
    now: T0,
    lifetimeHours: 12,
  });

  it('issues a leaf with one URI SAN, DNS SANs, EKU server+client, digitalSignature, CA false', async () => {
    const cert = await issueSpiffeLeaf({
      ...base(),
      publicKey: pki.spare[0]!.publicKey,
      spiffeId: 'spiffe://beijing.jjj.citymesh/app/traffic-dashboard',
      dnsNames: ['localhost'],
    });
    const leaf = new x509.X509Certificate(cert.pem);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => [n.type, n.value])).toEqual([
      ['url', 'spiffe://beijing.jjj.citymesh/app/traffic-dashboard'],
      ['dns', 'localhost'],
    ]);
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(leaf.getExtension(x509.KeyUsagesExtension)!.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(leaf.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(false);
    expect(leaf.subject).toBe('O=citymesh, OU=beijing.jjj.citymesh, CN=app/traffic-dashboard');
    expect(cert.notAfter.getTime() - T0.getTime()).toBe(12 * HOUR);
    expect(T0.getTime() - cert.notBefore.getTime()).toBe(60_000);
    const verified = verifyCertificatePath({
      leafPem: cert.pem,
      chainPems: [pki.beijingCa.cert.pem],
      rootPems: [pki.root.cert.pem],
      now: T0,
    });
    expect(verified).toMatchObject({ kind: 'app', name: 'traffic-dashboard', serial: cert.serial });
  });

  it('refuses to issue a Beijing SPIFFE ID from the Tianjin CA before signing anything', async () => {
    const err = await rejection(
      issueSpiffeLeaf({
        ...base(),
        issuerCertPem: pki.tianjinCa.cert.pem,
        issuerKeys: pki.tianjinCa.keys,
        publicKey: pki.spare[0]!.publicKey,
        spiffeId: 'spiffe://beijing.jjj.citymesh/node/node-1',
      }),
    );
    expect(err).toMatchObject({ code: 'CERTIFICATE_NAME_CONSTRAINT', details: { rule: 'not-permitted' } });
  });

  it('caps the validity at the issuer notAfter', async () => {
    const cert = await issueSpiffeLeaf({
      ...base(),
      now: new Date(pki.beijingCa.cert.notAfter.getTime() - HOUR),
      publicKey: pki.spare[0]!.publicKey,
      spiffeId: 'spiffe://beijing.jjj.citymesh/node/node-2',
      lifetimeHours: 24,
    });
    expect(cert.notAfter).toEqual(pki.beijingCa.cert.notAfter);
  });

  it('refuses to issue from an expired CA, with keys that are not the CA key, or for a trust domain ID', async () => {
    const spiffeId = 'spiffe://beijing.jjj.citymesh/node/node-2';
    const publicKey = pki.spare[0]!.publicKey;
    const expired = await rejection(
      issueSpiffeLeaf({ ...base(), now: new Date(T0.getTime() + 365 * DAY), publicKey, spiffeId }),
    );
    expect(expired).toMatchObject({ code: 'CERTIFICATE_EXPIRED', details: { rule: 'issuer-validity' } });
    const wrongKeys = await rejection(
      issueSpiffeLeaf({ ...base(), issuerKeys: pki.tianjinCa.keys, publicKey, spiffeId }),
    );
    expect(wrongKeys).toMatchObject({ code: 'MALFORMED_REQUEST', details: { rule: 'issuer-key-mismatch' } });
    const trustDomain = await rejection(
      issueSpiffeLeaf({ ...base(), publicKey, spiffeId: 'spiffe://beijing.jjj.citymesh' }),
    );
    expect(trustDomain).toMatchObject({ code: 'MALFORMED_REQUEST', details: { rule: 'leaf-path' } });
  });

  it('refuses a wildcard DNS name', async () => {
    const err = await rejection(
      issueSpiffeLeaf({
        ...base(),
        publicKey: pki.spare[0]!.publicKey,
        spiffeId: 'spiffe://beijing.jjj.citymesh/node/n',
        dnsNames: ['*.example'],
      }),
    );
    expect(err.details).toMatchObject({ rule: 'dns-name' });
  });

  it('uses random positive 16-byte serials, or the one given', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const cert = await issueSpiffeLeaf({
        ...base(),
        publicKey: pki.spare[0]!.publicKey,
        spiffeId: 'spiffe://beijing.jjj.citymesh/node/n',
      });
      const der = new NodeX509Certificate(cert.pem).serialNumber;
      expect(der).toMatch(/^[4-7][0-9A-F]{31}$/);
      serials.add(cert.serial);
    }
    expect(serials.size).toBe(8);
    const fixed = await issueSpiffeLeaf({
      ...base(),
      publicKey: pki.spare[0]!.publicKey,
      spiffeId: 'spiffe://beijing.jjj.citymesh/node/n',
      serial: '00:FF:01',
    });
    expect(fixed.serial).toBe('ff01');
    expect(canonicalSerial('00FF01')).toBe('ff01');
  });
});

describe('properties', () => {
  it('flipping any bit of a valid leaf makes the path fail with a MeshError', () => {
    const der = Buffer.from(x509.PemConverter.decodeFirst(pki.beijingNode.cert.pem));
    const options = {
      chainPems: [pki.beijingCa.cert.pem],
      rootPems: [pki.root.cert.pem],
      now: new Date(T0.getTime() + HOUR),
    };
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.nat(7), (index, bit) => {
        const mutated = Buffer.from(der);
        mutated[index] = mutated[index]! ^ (1 << bit);
        const leafPem = x509.PemConverter.encode(mutated, 'CERTIFICATE');
        try {
          verifyCertificatePath({ ...options, leafPem });
        } catch (err) {
          return err instanceof MeshError;
        }
        return false;
      }),
      { numRuns: 100 },
    );
  });

  it('flipping any bit of a CSR makes parseCsr refuse it as a malformed request', async () => {
    const pem = await createCsr({
      keys: pki.spare[0]!,
      subjectCn: 'node-7',
      spiffeId: 'spiffe://beijing.jjj.citymesh/node/node-7',
    });
    const der = Buffer.from(x509.PemConverter.decodeFirst(pem));
    // Every bit, not a sample: a few hundred bytes make a few thousand cases, and a
    // random sample once missed the one that reached an unguarded decoder.
    const escaped: string[] = [];
    for (let index = 0; index < der.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const mutated = Buffer.from(der);
        mutated[index] = mutated[index]! ^ (1 << bit);
        const err = await rejection(parseCsr(x509.PemConverter.encode(mutated, 'CERTIFICATE REQUEST'))).catch(
          (e: unknown) => e as MeshError,
        );
        if (!(err instanceof MeshError) || err.code !== 'MALFORMED_REQUEST' || err.details.field !== 'csrPem') {
          escaped.push(`byte ${index} bit ${bit}: ${String(err)}`);
        }
      }
    }
    expect(escaped).toEqual([]);
  });

  it('a Tianjin CA never gets a Beijing SPIFFE ID issued, whatever the name', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), async (name) => {
        const err = await rejection(
          issueSpiffeLeaf({
            issuerCertPem: pki.tianjinCa.cert.pem,
            issuerKeys: pki.tianjinCa.keys,
            now: T0,
            lifetimeHours: 1,
            publicKey: pki.spare[0]!.publicKey,
            spiffeId: `spiffe://beijing.jjj.citymesh/node/${name}`,
          }),
        );
        return err.code === 'CERTIFICATE_NAME_CONSTRAINT';
      }),
      { numRuns: 30 },
    );
  });
});
