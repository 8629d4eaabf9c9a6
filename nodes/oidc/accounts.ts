import { randomUUID } from 'node:crypto';
import { MeshError } from '../../common/errors/mesh-error.js';
import { type AttributesInput, parseAttributes } from './attributes.js';
import type { AccountRecord, OidcStore } from './oidc-store.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
/** NIST SP 800-63B-4 asks for at least 15 for single-factor passwords; 12 is the floor here, longer is welcome. */
export const MIN_PASSWORD_LENGTH = 12;
/** Bounds scrypt input so a megabyte "password" costs nothing extra to refuse. */
export const MAX_PASSWORD_LENGTH = 1024;

/** Usernames compare case-insensitively: stored and looked up in lower case, NFC. */
export function normalizeUsername(username: string): string {
  return username.trim().normalize('NFC').toLowerCase();
}

/** Creates a person's account (`citymesh accounts add`). */
export async function createAccount(
  store: OidcStore,
  input: { username: string; password: string; attributes: AttributesInput },
  now: Date,
): Promise<AccountRecord> {
  const username = normalizeUsername(input.username);
  if (!USERNAME.test(username)) {
    throw new MeshError('MALFORMED_REQUEST', 'username must be 1-64 of a-z, 0-9, ".", "_", "@", "-"', {
      details: { field: 'username' },
    });
  }
  const length = [...input.password].length;
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) {
    throw new MeshError(
      'MALFORMED_REQUEST',
      `password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`,
      { details: { field: 'password' } },
    );
  }
  if (await store.accountByUsername(username)) {
    throw new MeshError('ALREADY_EXISTS', `account ${username} already exists`, { details: { field: 'username' } });
  }
  const account: AccountRecord = {
    accountId: randomUUID(),
    username,
    passwordHash: await hashPassword(input.password),
    attributes: parseAttributes(input.attributes),
    createdAt: now.toISOString(),
  };
  await store.putAccount(account);
  return account;
}

/**
 * The account when the username and password match, else `undefined`, and the same
 * scrypt work either way (unknown user, disabled account, wrong password), so neither
 * the answer nor its timing tells an attacker which usernames exist.
 */
export async function authenticate(
  store: OidcStore,
  username: string,
  password: string,
): Promise<AccountRecord | undefined> {
  if (password.length > MAX_PASSWORD_LENGTH) return undefined;
  const account = await store.accountByUsername(normalizeUsername(username));
  const ok = await verifyPassword(password, account?.passwordHash ?? (await dummyPasswordHash()));
  return ok && account !== undefined && account.disabledAt === undefined ? account : undefined;
}
