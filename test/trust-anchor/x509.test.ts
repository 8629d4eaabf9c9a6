import { describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import { type VerifyCertificatePathOptions, verifyCertificatePath } from '../../trust-anchor/x509/index.js';
import { beijingPathOf, type NegativeCase, negativeCases } from './fixtures/x509/cases.js';
import { buildPki, CLIENT_AUTH, forge, SERVER_AUTH, type TestPki } from './fixtures/x509/pki.js';

// Keys are generated once per file, at collection, so the table below can name its cases.
const pki: TestPki = await buildPki();
const cases: NegativeCase[] = negativeCases(pki);

function beijingPath(overrides: Partial<VerifyCertificatePathOptions> = {}): VerifyCertificatePathOptions {
  return beijingPathOf(pki, overrides);
}

/** Runs the verifier and returns the MeshError it throws (fails the test if it does not). */
function refusal(options: VerifyCertificatePathOptions): MeshError {
  try {
    verifyCertificatePath(options);
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw err;
  }
  throw new Error('expected verifyCertificatePath to refuse the path');
}

describe('verifyCertificatePath: a valid path', () => {
  it('accepts root → Beijing CA → node leaf and returns its SPIFFE identity', () => {
    const result = verifyCertificatePath(beijingPath({ expected: { cluster: 'jjj', city: 'beijing' } }));
    expect(result).toMatchObject({
      spiffeId: 'spiffe://beijing.jjj.citymesh/node/node-1',
      trustDomain: 'beijing.jjj.citymesh',
      cluster: 'jjj',
      city: 'beijing',
      kind: 'node',
      name: 'node-1',
      serial: pki.beijingNode.cert.serial,
      issuerSerial: pki.beijingCa.cert.serial,
    });
    expect(result.notAfter).toEqual(pki.beijingNode.cert.notAfter);
  });

  it('accepts a chain that repeats the pinned root at its end', () => {
    const result = verifyCertificatePath(beijingPath({ chainPems: [pki.beijingCa.cert.pem, pki.root.cert.pem] }));
    expect(result.city).toBe('beijing');
  });

  it('accepts the expected SPIFFE ID and pins of several clusters', () => {
    const result = verifyCertificatePath(
      beijingPath({
        rootPems: [pki.prdRoot.cert.pem, pki.root.cert.pem],
        expected: { spiffeId: 'spiffe://beijing.jjj.citymesh/node/node-1' },
      }),
    );
    expect(result.kind).toBe('node');
  });

  it('tolerates a leaf expired within the leeway, and refuses it with no leeway', () => {
    const now = new Date(pki.beijingNode.cert.notAfter.getTime() + 30_000);
    expect(verifyCertificatePath(beijingPath({ now })).spiffeId).toMatch(/node-1$/);
    expect(refusal(beijingPath({ now, leewaySeconds: 0 })).code).toBe('CERTIFICATE_EXPIRED');
  });
});

describe('verifyCertificatePath: every rule has its own refusal', () => {
  it.each(cases)('$name', async ({ options, code, rule, certificate }) => {
    const err = refusal(await options());
    expect({ code: err.code, rule: err.details.rule, certificate: err.details.certificate }).toEqual({
      code,
      rule,
      certificate,
    });
    expect(err.message.length).toBeGreaterThan(10);
  });

  it('names the Tianjin CA and the Beijing ID in a name-constraint refusal', async () => {
    const err = refusal(await cases[0]!.options());
    expect(err.details).toMatchObject({ issuer: 'intermediate-1', name: 'spiffe://beijing.jjj.citymesh/node/node-1' });
    expect(err.message).toContain('tianjin.jjj.citymesh');
  });
});

describe('verifyCertificatePath: misuse', () => {
  it('throws a TypeError naming the option for an invalid now, empty roots or negative leeway', () => {
    expect(() => verifyCertificatePath(beijingPath({ now: new Date(Number.NaN) }))).toThrow(/now/);
    expect(() => verifyCertificatePath(beijingPath({ rootPems: [] }))).toThrow(/rootPems/);
    expect(() => verifyCertificatePath(beijingPath({ leewaySeconds: -1 }))).toThrow(/leewaySeconds/);
  });

  it('refuses a pinned root that is not a certificate as a malformed request', () => {
    expect(refusal(beijingPath({ rootPems: ['not a pem'] })).code).toBe('MALFORMED_REQUEST');
  });
});

describe('verifyCertificatePath: a forged cross-city leaf is refused whatever the order of checks', () => {
  it('refuses the Tianjin-issued Beijing leaf even when Beijing is expected', async () => {
    const options = await cases[0]!.options();
    expect(refusal({ ...options, expected: { city: 'beijing' } }).code).toBe('CERTIFICATE_NAME_CONSTRAINT');
  });

  it('refuses a Beijing SPIFFE ID hidden next to a DNS name under the Tianjin CA', async () => {
    const leafPem = await forge({
      issuer: pki.tianjinCa,
      subjectKeys: pki.spare[0]!,
      uris: ['spiffe://beijing.jjj.citymesh/node/node-1'],
      dnsNames: ['localhost'],
      eku: [SERVER_AUTH, CLIENT_AUTH],
    });
    expect(refusal(beijingPath({ leafPem, chainPems: [pki.tianjinCa.cert.pem] })).code).toBe(
      'CERTIFICATE_NAME_CONSTRAINT',
    );
  });
});
