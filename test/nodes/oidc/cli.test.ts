import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, openSqliteOidcStore } from '../../../nodes/oidc/index.js';
import { openSqliteStores } from '../../../stores/index.js';
import { cli } from '../../support/cli-in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-oidc-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  // A node folder: the node store exists (as after `node join`).
  await openSqliteStores(join(dir, 'node.db')).close();
});

describe('citymesh clients / accounts', () => {
  it('clients add registers a JWKS and prints the client id', async () => {
    const jwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    writeFileSync(join(dir, 'app.jwks'), JSON.stringify({ keys: [jwk] }));
    const r = await cli(
      'clients',
      'add',
      '--dir',
      dir,
      '--jwks',
      join(dir, 'app.jwks'),
      '--org',
      'planning-bureau',
      '--industry',
      'transport',
      '--region',
      '110000',
      '--role',
      'planner',
      '--redirect-uri',
      'https://app.example/cb',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const clientId = r.out.trim();
    expect(clientId).toMatch(/^app-[0-9a-f]{20}$/);
    const crossCity = await cli(
      ...['clients', 'add', '--dir', dir, '--jwks', join(dir, 'app.jwks'), '--org', 'planning-bureau'],
      ...['--industry', 'transport', '--region', '110000', '--id', 'courier', '--cross-city'],
    );
    expect(crossCity.out.trim()).toBe('courier');
    const store = openSqliteOidcStore(join(dir, 'node.db'));
    const record = await store.client(clientId);
    expect(record).toMatchObject({ attributes: { roles: ['planner'], level: 'province' } });
    expect(record?.crossCity).toBeUndefined();
    expect((await store.client('courier'))?.crossCity).toBe(true);
    await store.close();
    const list = await cli('clients', 'list', '--dir', dir);
    expect(JSON.parse(list.out).clients.map((c: { clientId: string }) => c.clientId)).toContain(clientId);
  });

  it('clients add refuses a private key, naming the field', async () => {
    const jwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    writeFileSync(join(dir, 'private.jwks'), JSON.stringify(jwk));
    const r = await cli(
      'clients',
      'add',
      '--dir',
      dir,
      '--jwks',
      join(dir, 'private.jwks'),
      '--org',
      'o',
      '--industry',
      'i',
      '--region',
      '110000',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/private key material.*MALFORMED_REQUEST/);
  });

  it('accounts add reads the password from a file and prints the subject id', async () => {
    writeFileSync(join(dir, 'pw'), 'a long enough passphrase\n');
    const r = await cli(
      'accounts',
      'add',
      '--dir',
      dir,
      '--username',
      'wang.fang',
      '--password-file',
      join(dir, 'pw'),
      '--org',
      'data-office',
      '--industry',
      'government',
      '--region',
      '110105',
      '--role',
      'analyst',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const store = openSqliteOidcStore(join(dir, 'node.db'));
    const account = await authenticate(store, 'wang.fang', 'a long enough passphrase');
    expect(account?.accountId).toBe(r.out.trim());
    await store.close();
  });

  it('refuses a folder without a node store', async () => {
    const r = await cli('clients', 'list', '--dir', join(dir, 'nope'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/node join.*INVALID_CONFIG/);
  });
});
