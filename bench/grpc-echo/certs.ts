import {
  createClusterRootCa,
  createCsr,
  type EcKeyPair,
  exportPrivateKeyPem,
  generateEcKeyPair,
  issueCityIntermediateCa,
  issueSpiffeLeaf,
} from '../../trust-anchor/index.js';
import type { EchoCerts, TlsIdentity } from './service.js';

const CLUSTER = 'jjj';
const LIFETIME_HOURS = 4;

interface Ca {
  readonly pem: string;
  readonly keys: EcKeyPair;
}

/**
 * A throwaway PKI shaped like the mesh's (cluster root → name-constrained city CA →
 * SPIFFE leaf), so the baseline pays the same handshake and chain cost as the nodes:
 * the server is a Beijing node, the client a Tianjin node.
 */
export async function makeEchoCerts(now = new Date()): Promise<EchoCerts> {
  const rootKeys = await generateEcKeyPair();
  const root = await createClusterRootCa({ cluster: CLUSTER, keys: rootKeys, now, lifetimeDays: 1 });
  const cityCa = async (city: string): Promise<Ca> => {
    const keys = await generateEcKeyPair();
    const csrPem = await createCsr({ keys, subjectCn: `citymesh ${CLUSTER} ${city} ca`, spiffeId: trustDomain(city) });
    const cert = await issueCityIntermediateCa({
      issuerCertPem: root.pem,
      issuerKeys: rootKeys,
      now,
      lifetimeHours: LIFETIME_HOURS,
      csrPem,
      cluster: CLUSTER,
      city,
    });
    return { pem: cert.pem, keys };
  };
  const leaf = async (ca: Ca, city: string, node: string): Promise<TlsIdentity> => {
    const keys = await generateEcKeyPair();
    const cert = await issueSpiffeLeaf({
      issuerCertPem: ca.pem,
      issuerKeys: ca.keys,
      now,
      lifetimeHours: LIFETIME_HOURS,
      publicKey: keys.publicKey,
      spiffeId: `${trustDomain(city)}/node/${node}`,
      dnsNames: ['localhost'],
    });
    return { keyPem: await exportPrivateKeyPem(keys), certChainPem: cert.pem + ca.pem };
  };
  const [beijing, tianjin] = await Promise.all([cityCa('beijing'), cityCa('tianjin')]);
  return {
    rootPem: root.pem,
    server: await leaf(beijing, 'beijing', 'echo'),
    client: await leaf(tianjin, 'tianjin', 'bench'),
  };
}

function trustDomain(city: string): string {
  return `spiffe://${city}.${CLUSTER}.citymesh`;
}
