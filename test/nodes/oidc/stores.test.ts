import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import {
  authenticate,
  createAccount,
  type OidcStore,
  openMemoryOidcStore,
  openSqliteOidcStore,
  providerMetadata,
  registerClient,
} from '../../../nodes/oidc/index.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-oidc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const attributes = { org: 'data-office', industry: 'transport', region: '120000', roles: ['analyst'] };
const now = new Date('2030-01-01T00:00:00Z');

const kinds: Array<[string, () => OidcStore]> = [
  ['memory', () => openMemoryOidcStore()],
  ['sqlite', () => openSqliteOidcStore(join(dir, `node-${Math.random()}.db`), () => 1_000_000)],
];

describe.each(kinds)('%s OIDC store', (_name, open) => {
  it('stores payloads with expiry, lookups by uid, consume, revoke by grant', async () => {
    const store = open();
    await store.upsertPayload('Session', 's1', { uid: 'u1', accountId: 'a' }, 2_000_000);
    await store.upsertPayload('AccessToken', 't1', { grantId: 'g1' });
    await store.upsertPayload('AccessToken', 't2', { grantId: 'g2' });
    await store.upsertPayload('AccessToken', 'old', { grantId: 'g1' }, 999_999);
    expect(await store.findPayload('Session', 's1', 1_000_000)).toEqual({ uid: 'u1', accountId: 'a' });
    expect(await store.findPayload('Session', 's1', 2_000_000)).toBeUndefined();
    expect(await store.findPayloadBy('Session', 'uid', 'u1', 1_000_000)).toMatchObject({ accountId: 'a' });
    expect(await store.findPayload('AccessToken', 'old', 1_000_000)).toBeUndefined();
    await store.consumePayload('AccessToken', 't2', 1234);
    expect(await store.findPayload('AccessToken', 't2', 0)).toEqual({ grantId: 'g2', consumed: 1234 });
    await store.revokeByGrantId('AccessToken', 'g1');
    expect(await store.findPayload('AccessToken', 't1', 0)).toBeUndefined();
    expect(await store.findPayload('AccessToken', 't2', 0)).toBeDefined();
    await store.destroyPayload('AccessToken', 't2');
    expect(await store.findPayload('AccessToken', 't2', 0)).toBeUndefined();
    expect(await store.secret('k', () => 'first')).toBe('first');
    expect(await store.secret('k', () => 'second')).toBe('first');
    await store.close();
  });

  it('accounts: unique usernames, scrypt hashes, one answer for every failure', async () => {
    const store = open();
    const account = await createAccount(
      store,
      { username: 'Zhang.San', password: 'a long enough passphrase', attributes },
      now,
    );
    expect(account.username).toBe('zhang.san');
    expect(account.passwordHash).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$/);
    expect(account.attributes).toEqual({ ...attributes, level: 'province' });
    await expect(
      createAccount(store, { username: 'zhang.san', password: 'another long passphrase', attributes }, now),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(
      createAccount(store, { username: 'short', password: 'too short', attributes }, now),
    ).rejects.toMatchObject({ code: 'MALFORMED_REQUEST' });
    expect((await authenticate(store, 'ZHANG.SAN', 'a long enough passphrase'))?.accountId).toBe(account.accountId);
    expect(await authenticate(store, 'zhang.san', 'wrong')).toBeUndefined();
    expect(await authenticate(store, 'nobody', 'a long enough passphrase')).toBeUndefined();
    await store.close();
  });

  it('clients: public keys only, one algorithm, pinned metadata', async () => {
    const store = open();
    const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const record = await registerClient(store, { jwks: { keys: [ec] }, attributes }, now);
    expect(record.clientId).toMatch(/^app-[0-9a-f]{20}$/);
    expect(record.alg).toBe('ES256');
    expect(record.jwks.keys[0]!['kid']).toBeTruthy();
    expect(providerMetadata(record)).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      grant_types: ['client_credentials'],
      response_types: [],
      id_token_signed_response_alg: 'ES256',
    });
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const priv = await exportJWK(privateKey);
    await expect(registerClient(store, { jwks: { keys: [priv] }, attributes }, now)).rejects.toMatchObject({
      code: 'MALFORMED_REQUEST',
    });
    const ed = await exportJWK((await generateKeyPair('EdDSA', { extractable: true })).publicKey);
    await expect(registerClient(store, { jwks: { keys: [ec, ed] }, attributes }, now)).rejects.toThrow(/all be/);
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
    await expect(registerClient(store, { jwks: { keys: [rsa] }, attributes }, now)).rejects.toThrow(/P-256 or/);
    await expect(
      registerClient(store, { jwks: { keys: [ec] }, attributes, redirectUris: ['http://app.example/cb'] }, now),
    ).rejects.toThrow(/https/);
    const login = await registerClient(
      store,
      { clientId: 'planner', jwks: { keys: [ec] }, attributes, redirectUris: ['https://app.example/cb'] },
      now,
    );
    expect(providerMetadata(login)['grant_types']).toEqual([
      'client_credentials',
      'authorization_code',
      'refresh_token',
    ]);
    expect((await store.listClients()).map((c) => c.clientId)).toContain('planner');
    await store.close();
  });
});

describe('sqlite OIDC tables', () => {
  it('persist across reopen and refuse a newer schema', async () => {
    const path = join(dir, 'reopen.db');
    const first = openSqliteOidcStore(path);
    await first.upsertPayload('Grant', 'g', { accountId: 'a' });
    await first.close();
    const second = openSqliteOidcStore(path);
    expect(await second.findPayload('Grant', 'g', Date.now())).toEqual({ accountId: 'a' });
    await second.close();
    const raw = new Database(path);
    raw.prepare('UPDATE oidc_schema_version SET version = 99').run();
    raw.close();
    expect(() => openSqliteOidcStore(path)).toThrow(expect.objectContaining({ code: 'STORE_SCHEMA_TOO_NEW' }));
  });
});
