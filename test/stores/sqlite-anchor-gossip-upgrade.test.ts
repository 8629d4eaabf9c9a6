import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnchorNode } from '../../common/stores/anchor-store.js';
import { openDatabase } from '../../stores/sqlite/database.js';
import { openSqliteStores } from '../../stores/sqlite/index.js';
import { MIGRATIONS, migrate } from '../../stores/sqlite/migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-anchor-gossip-upgrade-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PEER = '12D3KooWLThXCv5AErpuqtV78rfzektijYAKaZj36FuBpC52XYg1';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** An anchor database as the build before gossip bindings left it: one enrolled node. */
function olderAnchorDatabase(path: string): void {
  const db = openDatabase(path);
  try {
    const upTo = MIGRATIONS.findIndex((m) => m.name === 'anchor-node-gossip');
    expect(upTo).toBeGreaterThan(0);
    migrate(db, MIGRATIONS.slice(0, upTo));
    db.prepare("INSERT INTO anchor_members VALUES ('tianjin', '120000', 'tianjin.jjj.citymesh', 1000)").run();
    db.prepare(
      `INSERT INTO anchor_nodes (city, name, spiffe_id, entity_id, grpc_endpoint, federation_jwks, ca_certificate_pem,
         ca_serial, enrolled_at)
       VALUES ('tianjin', 'n1', 'spiffe://tianjin.jjj.citymesh/node/n1', 'https://tianjin.example', 'tianjin.example:7443',
         '[{"kty":"EC","kid":"k1"}]', ?, '01', 1000)`,
    ).run(PEM);
    db.prepare("INSERT INTO anchor_join_tokens VALUES ('tok-2', 'tianjin', ?, 0, 9999999999999, NULL, NULL)").run(
      'a'.repeat(64),
    );
  } finally {
    db.close();
  }
}

describe('SQLite anchor store: upgrade to gossip bindings', () => {
  it('loads nodes enrolled before the upgrade without a binding, and binds nodes enrolled after', async () => {
    const path = join(dir, 'older.db');
    olderAnchorDatabase(path);
    const stores = openSqliteStores(path);
    try {
      const [old] = (await stores.anchor.getMember('tianjin'))?.nodes ?? [];
      expect(old).toMatchObject({ name: 'n1', caCertificatePem: PEM });
      expect(old).not.toHaveProperty('gossipPeerId');
      expect(old).not.toHaveProperty('gossipAddress');
      const bound: AnchorNode = {
        ...old!,
        name: 'n2',
        spiffeId: 'spiffe://tianjin.jjj.citymesh/node/n2',
        gossipPeerId: PEER,
        gossipAddress: '/ip4/127.0.0.1/tcp/7112',
      };
      await stores.anchor.enrol({
        tokenId: 'tok-2',
        usedAt: new Date(2000),
        member: {
          city: 'tianjin',
          regionCode: '120000',
          trustDomain: 'tianjin.jjj.citymesh',
          joinedAt: new Date(1000),
        },
        node: bound,
        metadata: { version: 1, jwt: 'a.b.c', issuedAt: new Date(2000), expiresAt: new Date(3000) },
      });
      expect((await stores.anchor.getMember('tianjin'))?.nodes).toEqual([old, bound]);
    } finally {
      await stores.close();
    }
  });

  it('holds both-or-neither and one node per peer id against raw SQL too', async () => {
    const path = join(dir, 'raw.db');
    olderAnchorDatabase(path);
    await openSqliteStores(path).close();
    const raw = new Database(path);
    try {
      const bind = raw.prepare('UPDATE anchor_nodes SET gossip_peer_id = ?, gossip_address = ? WHERE name = ?');
      expect(() => bind.run(PEER, null, 'n1')).toThrow(/CHECK constraint/);
      bind.run(PEER, '/ip4/127.0.0.1/tcp/7112', 'n1');
      raw
        .prepare(
          `INSERT INTO anchor_nodes (city, name, spiffe_id, entity_id, grpc_endpoint, federation_jwks, ca_certificate_pem,
             ca_serial, enrolled_at) SELECT city, 'n2', spiffe_id, entity_id, grpc_endpoint, federation_jwks,
             ca_certificate_pem, ca_serial, enrolled_at FROM anchor_nodes WHERE name = 'n1'`,
        )
        .run();
      expect(() => bind.run(PEER, '/ip4/127.0.0.1/tcp/7122', 'n2')).toThrow(/UNIQUE constraint/);
    } finally {
      raw.close();
    }
  });
});
