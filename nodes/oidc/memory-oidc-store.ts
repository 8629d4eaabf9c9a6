import { MeshError } from '../../common/errors/mesh-error.js';
import type { AccountRecord, ClientRecord, OidcStore } from './oidc-store.js';

interface Row {
  payload: Record<string, unknown>;
  expiresAtMs: number | undefined;
}

/** {@link OidcStore} in memory, for tests and simulations; same rules as the SQLite one. */
export function openMemoryOidcStore(): OidcStore {
  const accounts = new Map<string, AccountRecord>();
  const clients = new Map<string, ClientRecord>();
  const payloads = new Map<string, Row>();
  const secrets = new Map<string, string>();
  const key = (model: string, id: string) => `${model}\u0000${id}`;
  const live = (row: Row | undefined, nowMs: number) =>
    row !== undefined && (row.expiresAtMs === undefined || row.expiresAtMs > nowMs) ? row : undefined;
  // Payloads go through JSON so callers never share mutable objects with the store.
  const copy = (p: Record<string, unknown>) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>;

  return {
    async putAccount(account) {
      const other = [...accounts.values()].find(
        (a) => a.username === account.username && a.accountId !== account.accountId,
      );
      if (other) throw new MeshError('ALREADY_EXISTS', `account ${account.username} already exists`);
      accounts.set(account.accountId, account);
    },
    async accountByUsername(username) {
      return [...accounts.values()].find((a) => a.username === username);
    },
    async accountById(accountId) {
      return accounts.get(accountId);
    },
    async putClient(client) {
      clients.set(client.clientId, client);
    },
    async client(clientId) {
      return clients.get(clientId);
    },
    async listClients() {
      return [...clients.values()].sort((a, b) => a.clientId.localeCompare(b.clientId));
    },
    async upsertPayload(model, id, payload, expiresAtMs) {
      payloads.set(key(model, id), { payload: copy(payload), expiresAtMs });
    },
    async findPayload(model, id, nowMs) {
      const row = live(payloads.get(key(model, id)), nowMs);
      return row && copy(row.payload);
    },
    async findPayloadBy(model, field, value, nowMs) {
      for (const [k, row] of payloads) {
        if (k.startsWith(`${model}\u0000`) && row.payload[field] === value && live(row, nowMs))
          return copy(row.payload);
      }
      return undefined;
    },
    async consumePayload(model, id, consumedAtSeconds) {
      const row = payloads.get(key(model, id));
      if (row) row.payload = { ...row.payload, consumed: consumedAtSeconds };
    },
    async destroyPayload(model, id) {
      payloads.delete(key(model, id));
    },
    async revokeByGrantId(model, grantId) {
      for (const [k, row] of payloads) {
        if (k.startsWith(`${model}\u0000`) && row.payload['grantId'] === grantId) payloads.delete(k);
      }
    },
    async secret(name, create) {
      let value = secrets.get(name);
      if (value === undefined) {
        value = create();
        secrets.set(name, value);
      }
      return value;
    },
    async close() {},
  };
}
