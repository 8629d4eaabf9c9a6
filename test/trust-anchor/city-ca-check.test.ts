import { beforeAll, describe, expect, it } from 'vitest';
import { checkCityCa, exportPublicJwk } from '../../trust-anchor/index.js';
import { codeOf } from '../support/anchor-harness.js';
import { buildPki, HOUR, T0, type TestPki } from './fixtures/x509/pki.js';

let pki: TestPki;
const NOW = new Date(T0.getTime() + HOUR);
const xOf = async (pair: TestPki['root']['keys']) => String((await exportPublicJwk(pair.publicKey)).x);

beforeAll(async () => {
  pki = await buildPki();
});

describe('the city CA a node accepts from the anchor (N8)', () => {
  const check = async (overrides: Partial<Parameters<typeof checkCityCa>[0]> = {}) =>
    codeOf(async () =>
      checkCityCa({
        caPem: pki.beijingCa.cert.pem,
        rootPem: pki.root.cert.pem,
        publicKeyX: await xOf(pki.beijingCa.keys),
        trustDomain: 'beijing.jjj.citymesh',
        now: NOW,
        ...overrides,
      }),
    );

  it('accepts the CA the anchor issued for this key and trust domain', async () => {
    const input = {
      caPem: pki.beijingCa.cert.pem,
      rootPem: pki.root.cert.pem,
      publicKeyX: await xOf(pki.beijingCa.keys),
      trustDomain: 'beijing.jjj.citymesh',
      now: NOW,
    };
    expect(() => checkCityCa(input)).not.toThrow();
  });

  it("refuses another city's CA, a CA for another key, another root's CA, and the root itself", async () => {
    expect(await check({ trustDomain: 'tianjin.jjj.citymesh' })).toBe('CERTIFICATE_NAME_CONSTRAINT');
    expect(await check({ publicKeyX: await xOf(pki.tianjinCa.keys) })).toBe('CERTIFICATE_INVALID');
    expect(await check({ rootPem: pki.prdRoot.cert.pem })).toBe('CERTIFICATE_INVALID');
    expect(await check({ caPem: pki.root.cert.pem, publicKeyX: await xOf(pki.root.keys) })).toBe('CERTIFICATE_INVALID');
  });

  it('refuses a CA that is not valid now', async () => {
    expect(await check({ now: new Date(T0.getTime() + 400 * 24 * HOUR) })).toBe('CERTIFICATE_INVALID');
  });
});
