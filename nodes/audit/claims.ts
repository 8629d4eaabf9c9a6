import { MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import { parseInstant } from './instant.js';

const HEX64 = /^[0-9a-f]{64}$/;
const DECIMAL = /^[1-9][0-9]*$/;

/** Proto3 JSON writes uint64 as a decimal string; this reads one back as a safe integer. */
export function parseSequence(text: string, code: ErrorCode, what: string, member: string): number {
  const value = Number(text);
  if (!DECIMAL.test(text) || !Number.isSafeInteger(value)) {
    throw new MeshError(code, `${what}: ${member} "${text}" is not a positive decimal sequence number`, {
      details: { rule: 'payload-members', member },
    });
  }
  return value;
}

export function parseTime(text: string, code: ErrorCode, what: string, member: string): Date {
  const at = parseInstant(text);
  if (at === undefined) {
    throw new MeshError(code, `${what}: ${member} "${text}" is not an RFC 3339 UTC time`, {
      details: { rule: 'payload-members', member },
    });
  }
  return at;
}

export function requireDigest(text: string, code: ErrorCode, what: string, member: string): string {
  if (!HEX64.test(text)) {
    throw new MeshError(code, `${what}: ${member} is not 64 lower-case hex digits`, {
      details: { rule: 'payload-members', member },
    });
  }
  return text;
}

/** True for a lower-case hex SHA-256. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}
