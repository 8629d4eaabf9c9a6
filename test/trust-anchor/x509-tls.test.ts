import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificatePemFromDer,
  type EcKeyPair,
  exportPrivateKeyPem,
  generateEcKeyPair,
  issueTlsServerCert,
  verifyCertificatePath,
} from '../../trust-anchor/x509/index.js';
import { x509 } from '../../trust-anchor/x509/provider.js';
import { asCredential, buildPki, forge, HOUR, SERVER_AUTH, type TestPki } from './fixtures/x509/pki.js';

/**
 * Real TLS on loopback: what OpenSSL (Node's TLS) enforces on its own during an mTLS
 * handshake with citymesh certificates. The PKI is minted at T0 (2030) for the pure
 * tests; here it is minted at the real time, since OpenSSL checks validity against the
 * wall clock (the only place in the x509 suites that reads it).
 */

let pki: TestPki;
const servers: tls.Server[] = [];

beforeAll(async () => {
  pki = await buildPki(new Date());
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Side {
  readonly keyPem: string;
  /** Leaf first, then intermediates. */
  readonly certPems: readonly string[];
}

interface HandshakeResult {
  readonly server: {
    authorized: boolean;
    authorizationError: string | null;
    peerRaw: Buffer | null;
    peerChain: Buffer[];
  };
  readonly client: { authorized: boolean; authorizationError: string | null; error: string | null };
}

async function sideOf(cert: { pem: string }, keys: EcKeyPair, chain: readonly string[]): Promise<Side> {
  return { keyPem: await exportPrivateKeyPem(keys), certPems: [cert.pem, ...chain] };
}

/** Peer chain below the leaf, as DER, from `getPeerCertificate(true)` (stops at a self-signed root). */
function chainOf(peer: tls.DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  let current = peer.issuerCertificate;
  while (current !== undefined && current !== peer && !out.some((c) => c.equals(current!.raw))) {
    if (current.raw.equals(peer.raw)) break;
    out.push(current.raw);
    if (current.issuerCertificate === current) break;
    current = current.issuerCertificate;
  }
  return out;
}

/**
 * One handshake. The server requires a client certificate; it rejects unauthorized
 * clients only when `serverRejects` is true, otherwise it records OpenSSL's verdict
 * (`authorized`, `authorizationError`) so the test can read it.
 */
async function handshake(
  server: Side,
  client: Side,
  ca: readonly string[],
  serverRejects: boolean,
): Promise<HandshakeResult> {
  let serverSide: HandshakeResult['server'] | undefined;
  const srv = tls.createServer({
    key: server.keyPem,
    cert: server.certPems.join(''),
    ca: [...ca],
    requestCert: true,
    rejectUnauthorized: serverRejects,
    minVersion: 'TLSv1.3',
  });
  servers.push(srv);
  const serverDone = new Promise<void>((resolve) => {
    srv.on('secureConnection', (socket) => {
      const peer = socket.getPeerCertificate(true);
      serverSide = {
        authorized: socket.authorized,
        authorizationError: socket.authorizationError == null ? null : String(socket.authorizationError),
        peerRaw: peer?.raw ?? null,
        peerChain: peer?.raw ? chainOf(peer) : [],
      };
      socket.end('ok');
      resolve();
    });
    srv.on('tlsClientError', () => resolve());
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  const clientSide = await new Promise<HandshakeResult['client']>((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      key: client.keyPem,
      cert: client.certPems.join(''),
      ca: [...ca],
      rejectUnauthorized: false,
    });
    socket.on('secureConnect', () => {
      const verdict = {
        authorized: socket.authorized,
        authorizationError: socket.authorizationError == null ? null : String(socket.authorizationError),
      };
      // Under TLS 1.3 the server judges the client certificate after the client's
      // handshake completes: wait for its answer (data or a close) before finishing.
      socket.on('data', () => {
        socket.destroy();
        resolve({ ...verdict, error: null });
      });
      socket.on('error', (err) => resolve({ ...verdict, error: err.message }));
      socket.on('close', () => resolve({ ...verdict, error: 'closed' }));
    });
    socket.on('error', (err) => resolve({ authorized: false, authorizationError: null, error: err.message }));
  });
  await serverDone;
  await new Promise((resolve) => srv.close(resolve));
  return {
    server: serverSide ?? { authorized: false, authorizationError: 'handshake failed', peerRaw: null, peerChain: [] },
    client: clientSide,
  };
}

describe('mTLS between city nodes over node:tls (OpenSSL)', () => {
  it('accepts a Beijing server and a Tianjin client, and both peer chains verify as SPIFFE IDs', async () => {
    const server = await sideOf(pki.beijingNode.cert, pki.beijingNode.keys, [pki.beijingCa.cert.pem]);
    const client = await sideOf(pki.tianjinNode.cert, pki.tianjinNode.keys, [pki.tianjinCa.cert.pem]);
    const result = await handshake(server, client, [pki.root.cert.pem], true);
    expect(result.client).toMatchObject({ authorized: true, authorizationError: null, error: null });
    expect(result.server).toMatchObject({ authorized: true, authorizationError: null });

    // What a node does with the peer certificate OpenSSL accepted: the explicit check.
    const peer = verifyCertificatePath({
      leafPem: certificatePemFromDer(result.server.peerRaw!),
      chainPems: result.server.peerChain.map(certificatePemFromDer),
      rootPems: [pki.root.cert.pem],
      now: new Date(),
      expected: { cluster: 'jjj', city: 'tianjin' },
    });
    expect(peer.spiffeId).toBe('spiffe://tianjin.jjj.citymesh/node/node-1');
  });

  /** A client leaf for `uri` signed directly (raw @peculiar/x509) by the Tianjin CA: valid for an hour from now. */
  async function tianjinSigned(uri: string): Promise<Side> {
    const pem = await forge({
      issuer: pki.tianjinCa,
      subjectKeys: pki.spare[0]!,
      uris: [uri],
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + HOUR),
    });
    return sideOf({ pem }, pki.spare[0]!, [pki.tianjinCa.cert.pem]);
  }

  /** A city CA for `trustDomain` signed directly by the jjj root with no name constraint of its own, and a leaf under it. */
  async function underRawCityCa(trustDomain: string): Promise<Side> {
    const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + HOUR) };
    const caPem = await forge({
      issuer: pki.root,
      subjectKeys: pki.spare[1]!,
      ca: { pathLength: 0 },
      uris: [`spiffe://${trustDomain}`],
      ...validity,
    });
    const leafPem = await forge({
      issuer: asCredential(caPem, pki.spare[1]!),
      subjectKeys: pki.spare[0]!,
      uris: [`spiffe://${trustDomain}/node/node-1`],
      ...validity,
    });
    return sideOf({ pem: leafPem }, pki.spare[0]!, [caPem]);
  }

  // Node 20 (OpenSSL 3.0) refuses these paths, but its table of verify-error names lacks
  // X509_V_ERR_PERMITTED_VIOLATION (47), so `authorizationError` reads "UNSPECIFIED"
  // (`openssl verify` on the same files prints "permitted subtree violation"). Each refusal
  // is paired with a control built the same way that OpenSSL accepts, which pins the cause
  // on the name constraint.
  it('OpenSSL refuses a Tianjin-CA-issued Beijing leaf and accepts the same construction for a Tianjin ID', async () => {
    const server = await sideOf(pki.beijingNode.cert, pki.beijingNode.keys, [pki.beijingCa.cert.pem]);
    const forged = await handshake(
      server,
      await tianjinSigned('spiffe://beijing.jjj.citymesh/node/node-1'),
      [pki.root.cert.pem],
      false,
    );
    expect(forged.server).toMatchObject({ authorized: false, authorizationError: 'UNSPECIFIED' });
    const control = await handshake(
      server,
      await tianjinSigned('spiffe://tianjin.jjj.citymesh/node/node-9'),
      [pki.root.cert.pem],
      false,
    );
    expect(control.server).toMatchObject({ authorized: true, authorizationError: null });
  });

  it('OpenSSL applies the root name constraint: refuses a prd city CA under the jjj root, accepts a jjj one', async () => {
    const server = await sideOf(pki.beijingNode.cert, pki.beijingNode.keys, [pki.beijingCa.cert.pem]);
    const forged = await handshake(server, await underRawCityCa('shanghai.prd.citymesh'), [pki.root.cert.pem], false);
    expect(forged.server).toMatchObject({ authorized: false, authorizationError: 'UNSPECIFIED' });
    const control = await handshake(server, await underRawCityCa('beijing.jjj.citymesh'), [pki.root.cert.pem], false);
    expect(control.server).toMatchObject({ authorized: true, authorizationError: null });
  });

  it('a server that rejects unauthorized clients ends the handshake with the forged Beijing leaf', async () => {
    const server = await sideOf(pki.beijingNode.cert, pki.beijingNode.keys, [pki.beijingCa.cert.pem]);
    const result = await handshake(
      server,
      await tianjinSigned('spiffe://beijing.jjj.citymesh/node/node-1'),
      [pki.root.cert.pem],
      true,
    );
    expect(result.server.authorized).toBe(false);
    expect(result.client.error).not.toBeNull();
  });

  it('OpenSSL refuses a second intermediate under the pathLen-0 city CA', async () => {
    const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + HOUR) };
    const subCa = await forge({
      issuer: pki.beijingCa,
      subjectKeys: pki.spare[1]!,
      ca: { pathLength: 0 },
      uris: ['spiffe://beijing.jjj.citymesh'],
      ...validity,
    });
    const leafPem = await forge({
      issuer: asCredential(subCa, pki.spare[1]!),
      subjectKeys: pki.spare[0]!,
      ...validity,
    });
    const server = await sideOf(pki.beijingNode.cert, pki.beijingNode.keys, [pki.beijingCa.cert.pem]);
    const client = await sideOf({ pem: leafPem }, pki.spare[0]!, [subCa, pki.beijingCa.cert.pem]);
    const result = await handshake(server, client, [pki.root.cert.pem], false);
    expect(result.server).toMatchObject({ authorized: false, authorizationError: 'PATH_LENGTH_EXCEEDED' });
  });

  it('OpenSSL refuses a client certificate whose EKU lacks clientAuth', async () => {
    const pem = await forge({
      issuer: pki.tianjinCa,
      subjectKeys: pki.spare[0]!,
      uris: ['spiffe://tianjin.jjj.citymesh/node/node-2'],
      eku: [SERVER_AUTH],
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + HOUR),
    });
    const server = await sideOf(pki.beijingNode.cert, pki.beijingNode.keys, [pki.beijingCa.cert.pem]);
    const client = await sideOf({ pem }, pki.spare[0]!, [pki.tianjinCa.cert.pem]);
    const result = await handshake(server, client, [pki.root.cert.pem], false);
    expect(result.server).toMatchObject({ authorized: false, authorizationError: 'INVALID_PURPOSE' });
  });

  it('OpenSSL refuses a client of another cluster (unknown root)', async () => {
    const server = await sideOf(pki.beijingNode.cert, pki.beijingNode.keys, [pki.beijingCa.cert.pem]);
    const client = await sideOf(pki.shanghaiNode.cert, pki.shanghaiNode.keys, [pki.shanghaiCa.cert.pem]);
    const result = await handshake(server, client, [pki.root.cert.pem], false);
    expect(result.server.authorized).toBe(false);
    expect(result.server.authorizationError).toMatch(/UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED/);
  });

  it('serves the anchor HTTPS certificate that a client pinning the root accepts on 127.0.0.1 and localhost', async () => {
    const keys = await generateEcKeyPair();
    const cert = await issueTlsServerCert({
      publicKey: keys.publicKey,
      issuerCertPem: pki.root.cert.pem,
      issuerKeys: pki.root.keys,
      now: new Date(),
      lifetimeHours: 1,
    });
    const srv = tls.createServer({ key: await exportPrivateKeyPem(keys), cert: cert.pem });
    servers.push(srv);
    srv.on('secureConnection', (socket) => socket.end('ok'));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as AddressInfo;
    for (const target of [{ host: '127.0.0.1' }, { host: '127.0.0.1', servername: 'localhost' }]) {
      const authorized = await new Promise<boolean | string>((resolve) => {
        const socket = tls.connect({ ...target, port, ca: [pki.root.cert.pem] }, () => {
          resolve(socket.authorized);
          socket.destroy();
        });
        socket.on('error', (err) => resolve(err.message));
      });
      expect(authorized).toBe(true);
    }
    const parsed = new x509.X509Certificate(cert.pem);
    expect(parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
  });
});
