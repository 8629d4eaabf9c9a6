import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { MeshError } from '../../common/errors/mesh-error.js';
import { parseCityName } from '../../common/ids/index.js';
import type { JoinTokenRecord } from '../../common/stores/index.js';

/**
 * A join token is one string an operator hands to a city:
 * `citymesh1.<city>.<tokenId>.<secret>.<rootPin>`.
 * - `tokenId` (hex) names the anchor's record; `secret` (base64url, 32 bytes) proves
 *   possession; the anchor stores only SHA-256(secret).
 * - `rootPin` is base64url SHA-256 of the cluster root CA's SubjectPublicKeyInfo, like
 *   kubeadm's discovery hash: the joining node accepts the anchor's TLS only when it
 *   chains to a root with that pin, so there is no trust on first use.
 */
export interface JoinToken {
  readonly city: string;
  readonly tokenId: string;
  readonly secret: string;
  readonly rootPin: string;
}

const PREFIX = 'citymesh1';
const TOKEN_ID = /^[0-9a-f]{16}$/;
const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

function invalid(message: string, rule: string): MeshError {
  return new MeshError('JOIN_TOKEN_INVALID', message, { details: { field: 'joinToken', rule } });
}

/** Creates a fresh token for `city` and the record the anchor stores for it. */
export function createJoinToken(input: { city: string; rootPin: string; now: Date; lifetimeSeconds: number }): {
  token: string;
  record: JoinTokenRecord;
} {
  const city = parseCityName(input.city);
  const tokenId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const record: JoinTokenRecord = {
    tokenId,
    city,
    secretSha256: sha256(secret),
    createdAt: input.now,
    expiresAt: new Date(input.now.getTime() + input.lifetimeSeconds * 1000),
  };
  return { token: formatJoinToken({ city, tokenId, secret, rootPin: input.rootPin }), record };
}

/** The token's text form. */
export function formatJoinToken(t: JoinToken): string {
  return [PREFIX, t.city, t.tokenId, t.secret, t.rootPin].join('.');
}

/** Parses a token's text; any deviation is JOIN_TOKEN_INVALID naming the broken part. */
export function parseJoinToken(text: string): JoinToken {
  const parts = text.trim().split('.');
  if (parts.length !== 5 || parts[0] !== PREFIX) {
    throw invalid('join token must look like citymesh1.<city>.<id>.<secret>.<root-pin>', 'format');
  }
  const [, city, tokenId, secret, rootPin] = parts as [string, string, string, string, string];
  try {
    parseCityName(city);
  } catch {
    throw invalid(`join token names an invalid city "${city}"`, 'city');
  }
  if (!TOKEN_ID.test(tokenId)) throw invalid('join token id must be 16 hex digits', 'tokenId');
  if (!B64URL_32.test(secret)) throw invalid('join token secret must be 32 bytes of base64url', 'secret');
  if (!B64URL_32.test(rootPin)) throw invalid('join token root pin must be a base64url SHA-256', 'rootPin');
  return { city, tokenId, secret, rootPin };
}

/**
 * The anchor's check of a presented token against its record, in the order that leaks
 * least: unknown id and wrong secret look the same; only a holder of the real secret
 * learns that the token expired, was used or belongs to another city.
 */
export function checkJoinToken(
  presented: JoinToken,
  record: JoinTokenRecord | undefined,
  request: { city: string; now: Date },
): void {
  if (record === undefined || !sameSecret(presented.secret, record.secretSha256)) {
    throw invalid('join token is not known to this anchor', 'unknown');
  }
  if (record.city !== presented.city || request.city !== record.city) {
    throw new MeshError('JOIN_TOKEN_WRONG_CITY', `join token was issued for city ${record.city}, not ${request.city}`, {
      details: { field: 'city', expected: record.city, actual: request.city },
    });
  }
  if (record.usedAt !== undefined) {
    throw new MeshError(
      'JOIN_TOKEN_USED',
      `join token ${record.tokenId} was already used at ${record.usedAt.toISOString()}`,
      {
        details: { tokenId: record.tokenId },
      },
    );
  }
  if (request.now.getTime() >= record.expiresAt.getTime()) {
    throw new MeshError(
      'JOIN_TOKEN_EXPIRED',
      `join token ${record.tokenId} expired at ${record.expiresAt.toISOString()}`,
      {
        details: { tokenId: record.tokenId },
      },
    );
  }
}

/** base64url SHA-256 of a certificate's DER SubjectPublicKeyInfo: the pin a join token carries. */
export function rootPinOf(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64url');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameSecret(secret: string, expectedSha256: string): boolean {
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(expectedSha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
