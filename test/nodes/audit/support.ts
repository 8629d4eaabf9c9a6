import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../../common/clock.js';
import type { KeyStore } from '../../../common/stores/key-store.js';
import { type AuditSigner, keySigner } from '../../../nodes/audit/index.js';
import { openMemoryStores, openSqliteStores } from '../../../stores/index.js';
import {
  createKey,
  type FederationSigningKey,
  type JwkSet,
  publishedJwk,
  signingKey,
} from '../../../trust-anchor/index.js';

export const BEIJING = 'spiffe://beijing.jjj.citymesh/node/n1';
export const TIANJIN = 'spiffe://tianjin.jjj.citymesh/node/n1';
export const HEBEI = 'spiffe://shijiazhuang.jjj.citymesh/node/n1';
export const FETCH = '/citymesh.v1.DatasetService/FetchRecords';

/** A node's signing key as the audit code uses it: a signer, and its published public JWK Set. */
export interface TestKey {
  readonly signer: AuditSigner;
  readonly jwks: JwkSet;
  readonly kid: string;
  readonly signingKey: FederationSigningKey;
}

/** A fresh ES256 federation key, stored active in `keys` (a throwaway memory store by default). */
export async function newKey(keys?: KeyStore): Promise<TestKey> {
  const store = keys ?? openMemoryStores().keys;
  const key = await createKey(store, { purpose: 'federation', status: 'active', now: new Date(Date.UTC(2025, 0, 1)) });
  return {
    signer: keySigner(signingKey(key)),
    jwks: { keys: [publishedJwk(key.stored)] },
    kid: key.stored.kid,
    signingKey: signingKey(key),
  };
}

export function clock(): ManualClock {
  return new ManualClock(Date.UTC(2025, 5, 1, 8));
}

/** Lower-case hex SHA-256 of a label: stand-ins for request hashes and response digests. */
export function digest(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/**
 * A node folder as `citymesh node join` leaves it, as far as the audit commands read it:
 * `identity.json` and `node.db` with an active federation key.
 */
export async function makeNodeDir(
  root: string,
  name: string,
  spiffeId: string,
): Promise<{ dir: string; key: TestKey }> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'identity.json'),
    JSON.stringify({
      cluster: 'jjj',
      city: spiffeId.split('//')[1]?.split('.')[0],
      nodeName: 'n1',
      spiffeId,
      entityId: 'https://localhost:8443',
      grpcEndpoint: 'localhost:7443',
      anchorUrl: 'https://localhost:7000',
      anchorEntityId: 'https://localhost:7000',
      joinedAt: '2025-06-01T08:00:00.000Z',
    }),
  );
  const stores = openSqliteStores(join(dir, 'node.db'));
  try {
    return { dir, key: await newKey(stores.keys) };
  } finally {
    await stores.close();
  }
}
