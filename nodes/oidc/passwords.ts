import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt cost for new hashes: N = 2^15, r = 8, p = 1, i.e. 128·N·r = 32 MiB of memory per
 * hash. Memory-hard, so a GPU or ASIC attacker pays in RAM, not just in cores. N = 2^15 is
 * twice the classic interactive-login setting (2^14, RFC 7914's example) and takes about
 * 0.4 s on this project's 2-core reference machine; OWASP's 2^17 (128 MiB) took 1.7 s
 * there, and with libuv's 4 threads a burst of logins would pin 512 MiB. The parameters
 * are stored with each hash, so raising them later needs no migration: old hashes still
 * verify with their own parameters.
 */
export const SCRYPT_COST = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Refuse absurd parameters read back from a stored hash (a corrupted row must not eat the machine). */
const MAX_MEMORY = 256 * 1024 * 1024;
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{16,})$/;

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...cost, maxmem: Math.max(32 * 1024 * 1024, 2 * 128 * cost.N * cost.r) };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt b64url>$<key b64url>`. */
export async function hashPassword(password: string, cost = SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return `$scrypt$ln=${Math.log2(cost.N)},r=${cost.r},p=${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `password` matches `hash`; false for a wrong password or a hash it cannot read. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = FORMAT.exec(hash);
  if (!m) return false;
  const cost = { N: 2 ** Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (128 * cost.N * cost.r * cost.p > MAX_MEMORY) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const actual = await derive(password, Buffer.from(m[4]!, 'base64url'), cost);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * A well-formed hash of a random secret nobody knows. Checking a password against it
 * for an unknown username costs the same time as a real check, so response times do not
 * reveal which usernames exist.
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummyHash;
}
