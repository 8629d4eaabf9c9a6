import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { KeyStore } from '../../common/stores/index.js';
import {
  createKey,
  issueSpiffeLeaf,
  keysWith,
  type LoadedKey,
  type VerifiedCertificatePath,
  verifyCertificatePath,
} from '../../trust-anchor/index.js';
import { nodePath, readNodeFile, writeFileAtomic } from './node-files.js';

/**
 * Issues the node's X.509-SVID from its own city CA: a fresh TLS key, exactly one URI
 * SAN (the node's SPIFFE ID), EKU client+server, `lifetimeHours` long. The certificate
 * is checked against the cluster root before it replaces the old one, and the previous
 * TLS key is retired.
 */
export async function issueNodeCertificate(input: {
  dir: string;
  keys: KeyStore;
  cityCa: { key: LoadedKey; certificatePem: string };
  spiffeId: string;
  lifetimeHours: number;
  now: Date;
  /** DNS names for the HTTPS listener, besides `localhost` (the entity id's host). */
  dnsNames?: readonly string[];
}): Promise<VerifiedCertificatePath> {
  const previous = await keysWith(input.keys, 'tls', 'active');
  let leafPem = '';
  // Stored as `next` and activated only once the certificate verifies.
  const tls = await createKey(input.keys, {
    purpose: 'tls',
    status: 'next',
    now: input.now,
    certificatePem: async (pair) => {
      leafPem = (
        await issueSpiffeLeaf({
          publicKey: pair.publicKey,
          spiffeId: input.spiffeId,
          issuerCertPem: input.cityCa.certificatePem,
          issuerKeys: input.cityCa.key.pair,
          now: input.now,
          lifetimeHours: input.lifetimeHours,
          // grpc-js and HTTPS clients check the server name; SPIFFE validation ignores DNS SANs.
          dnsNames: [...new Set(['localhost', ...(input.dnsNames ?? [])])],
        })
      ).pem;
      return leafPem;
    },
  });
  const verified = verifyCertificatePath({
    leafPem,
    chainPems: [input.cityCa.certificatePem],
    rootPems: [readNodeFile(input.dir, 'bundle')],
    now: input.now,
    expected: { spiffeId: input.spiffeId },
  });
  writeFileAtomic(nodePath(input.dir, 'nodeCert'), `${leafPem}${input.cityCa.certificatePem}`);
  await input.keys.setStatus(tls.stored.kid, 'active', input.now);
  for (const old of previous) await input.keys.setStatus(old.kid, 'retired', input.now);
  return verified;
}

/** True when the node certificate is past half its lifetime (or gone): time to renew. */
export function nodeCertificateDue(dir: string, now: Date): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readNodeFile(dir, 'nodeCert'));
  } catch {
    return true;
  }
  const from = new Date(cert.validFrom).getTime();
  const to = new Date(cert.validTo).getTime();
  return now.getTime() >= from + (to - from) / 2;
}

/** The host of the city's entity id when it is a DNS name (not an IP), for the SVID's DNS SANs. */
export function entityIdDnsNames(entityId: string): string[] {
  const host = new URL(entityId).hostname;
  return isIP(host) === 0 && host !== 'localhost' ? [host] : [];
}
