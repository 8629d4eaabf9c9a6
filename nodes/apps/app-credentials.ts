import { X509Certificate } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../common/errors/mesh-error.js';
import { formatSpiffeId } from '../../common/ids/index.js';
import type { KeyStore } from '../../common/stores/index.js';
import {
  exportPrivateKeyPem,
  generateEcKeyPair,
  issueSpiffeLeaf,
  verifyCertificatePath,
} from '../../trust-anchor/index.js';
import { cityCaKey } from '../trust/city-ca-key.js';
import type { NodeIdentity } from '../trust/identity.js';
import { readNodeFile, writeFileAtomic } from '../trust/node-files.js';
import { readApps } from './app-registry.js';

/** What an app holds to call its home node: files in its credentials folder. */
export const APP_FILES = { key: 'app-key.pem', cert: 'app-cert.pem', bundle: 'bundle.pem', info: 'app.json' } as const;

/** `app.json`: who the app is and where its home node listens. */
export interface AppInfo {
  readonly clientId: string;
  readonly spiffeId: string;
  readonly city: string;
  readonly cluster: string;
  readonly nodeEndpoint: string;
  readonly notAfter: string;
}

/**
 * Issues a registered app an X.509-SVID from this node's city CA and writes the key,
 * the certificate chain, the cluster root and `app.json` into `outDir`. The key is made
 * here and written once with mode 0600; the node keeps no copy.
 */
export async function issueAppCredentials(input: {
  dir: string;
  keys: KeyStore;
  clientId: string;
  lifetimeHours: number;
  now: Date;
  outDir: string;
}): Promise<AppInfo> {
  if (!readApps(input.dir).some((a) => a.clientId === input.clientId && a.disabledAt === undefined)) {
    throw new MeshError(
      'MEMBER_NOT_FOUND',
      `app ${input.clientId} is not registered (or is disabled); run \`citymesh apps add\``,
      {
        details: { field: 'clientId' },
      },
    );
  }
  const identity = JSON.parse(readNodeFile(input.dir, 'identity')) as NodeIdentity;
  const spiffeId = formatSpiffeId({
    cluster: identity.cluster,
    city: identity.city,
    kind: 'app',
    name: input.clientId,
  });
  const ca = await cityCaKey(input.dir, input.keys);
  const cityCaPem = ca.certificatePem;
  const rootPem = readNodeFile(input.dir, 'bundle');
  const caNotAfter = new Date(new X509Certificate(cityCaPem).validTo).getTime();
  const lifetimeHours = Math.min(input.lifetimeHours, Math.floor((caNotAfter - input.now.getTime()) / 3_600_000));
  if (lifetimeHours < 1) {
    throw new MeshError('CERTIFICATE_EXPIRED', 'the city CA expires within the hour; renew it first', {});
  }
  const pair = await generateEcKeyPair();
  const leaf = await issueSpiffeLeaf({
    publicKey: pair.publicKey,
    spiffeId,
    issuerCertPem: cityCaPem,
    issuerKeys: ca.key.pair,
    now: input.now,
    lifetimeHours,
    dnsNames: [],
  });
  const verified = verifyCertificatePath({
    leafPem: leaf.pem,
    chainPems: [cityCaPem],
    rootPems: [rootPem],
    now: input.now,
    expected: { spiffeId },
  });
  mkdirSync(input.outDir, { recursive: true });
  writeFileAtomic(join(input.outDir, APP_FILES.key), await exportPrivateKeyPem(pair));
  writeFileAtomic(join(input.outDir, APP_FILES.cert), `${leaf.pem}${cityCaPem}`, 0o644);
  writeFileAtomic(join(input.outDir, APP_FILES.bundle), rootPem, 0o644);
  const info: AppInfo = {
    clientId: input.clientId,
    spiffeId,
    city: identity.city,
    cluster: identity.cluster,
    nodeEndpoint: identity.grpcEndpoint,
    notAfter: verified.notAfter.toISOString(),
  };
  writeFileAtomic(join(input.outDir, APP_FILES.info), `${JSON.stringify(info, null, 2)}\n`, 0o644);
  return info;
}
