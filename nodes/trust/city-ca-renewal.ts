import { X509Certificate } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { formatTrustDomain } from '../../common/ids/index.js';
import type { KeyStore } from '../../common/stores/index.js';
import { RenewCityCaResponse } from '../../proto/gen/citymesh/v1/trust_service.js';
import { checkCityCa, createCsr, createKey, keysWith } from '../../trust-anchor/index.js';
import { anchorFailure, anchorRequest } from './anchor-client.js';
import type { NodeIdentity } from './identity.js';
import { nodePath, readNodeFile, writeFileAtomic } from './node-files.js';

/** True when the city CA is past half its lifetime: time to renew it through the anchor. */
export function cityCaDue(dir: string, now: Date): boolean {
  const ca = new X509Certificate(readNodeFile(dir, 'cityCa'));
  const from = new Date(ca.validFrom).getTime();
  const to = new Date(ca.validTo).getTime();
  return now.getTime() >= from + (to - from) / 2;
}

/**
 * Renews the node's city CA (TrustService.RenewCityCa): a new CA key made here, its CSR
 * sent over mTLS with the node's current SVID, the returned certificate checked (signed
 * by the pinned root, for this key, valid now) before the key is activated and the old
 * one retired. SVIDs issued afterwards come from the new CA; the current one stays
 * valid, as the anchor keeps the old CA listed until it expires.
 */
export async function renewCityCa(input: { dir: string; keys: KeyStore; clock: Clock }): Promise<{ notAfter: Date }> {
  const identity = JSON.parse(readNodeFile(input.dir, 'identity')) as NodeIdentity;
  const rootPem = readNodeFile(input.dir, 'bundle');
  const now = input.clock.now();
  const tls = (await keysWith(input.keys, 'tls', 'active')).at(-1);
  if (tls?.privateKeyPem === undefined) {
    throw new MeshError('KEY_NOT_FOUND', 'the node has no active TLS key to authenticate with', {});
  }
  const previous = await keysWith(input.keys, 'ca', 'active');
  const ca = await createKey(input.keys, { purpose: 'ca', status: 'next', now });
  const caCsrPem = await createCsr({ keys: ca.pair, subjectCn: `citymesh ${identity.city} city CA` });
  const res = await anchorRequest(identity.anchorUrl, '/renew-city-ca', {
    rootPem,
    method: 'POST',
    json: { caCsrPem },
    clientCertificate: { keyPem: tls.privateKeyPem, certPem: readNodeFile(input.dir, 'nodeCert') },
  });
  if (res.status !== 200) throw anchorFailure(res.status, res.body);
  const { cityCaPem } = RenewCityCaResponse.fromJSON(JSON.parse(res.body));
  checkCityCa({
    caPem: cityCaPem,
    rootPem,
    publicKeyX: String(ca.stored.publicJwk.x),
    trustDomain: formatTrustDomain(identity.cluster, identity.city),
    now,
  });
  const cert = new X509Certificate(cityCaPem);
  // Certificate first, then the key's status: `cityCaKey` pairs them by public key, so a
  // crash in between leaves a usable pair either way.
  writeFileAtomic(nodePath(input.dir, 'cityCa'), cityCaPem);
  await input.keys.setStatus(ca.stored.kid, 'active', now);
  for (const old of previous) await input.keys.setStatus(old.kid, 'retired', now);
  return { notAfter: new Date(cert.validTo) };
}
