import { quoteValue } from '../../../common/ids/identifier-error.js';
import type { DeviceCredential } from '../../../common/stores/device-store.js';
import type { PublicJwk } from '../../../common/stores/json.js';
import { DeviceFault, unknownMember } from './device-fault.js';
import { type JwkProblem, publicJwkProblem } from './public-jwk.js';

/** The members of a credential in a manifest or a registration. */
export const CREDENTIAL_FIELDS: readonly string[] = ['credentialId', 'kind', 'publicJwk', 'notBefore', 'notAfter'];
const CREDENTIAL_FIELD_SET: ReadonlySet<string> = new Set(CREDENTIAL_FIELDS);

/**
 * Credential ids name the key in a device JWT's `kid`: an RFC 7638 thumbprint (base64url,
 * which may start with `-` or `_`) or an operator's label such as `k-2025`.
 */
export const CREDENTIAL_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,127}$/;

/** RFC 3339 date-time with an explicit offset, up to millisecond precision (what a JS Date holds). */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?(?:Z|[+-](\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Epoch milliseconds of an RFC 3339 instant, or undefined; stricter than Date.parse (no 30 February). */
export function parseInstant(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s, oh, om] = m.slice(1).map((g) => (g === undefined ? 0 : Number(g))) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) {
    return undefined;
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Instants already parsed: a manifest repeats a few validity windows over many devices.
 * The Date objects are shared between devices; stores copy what they keep.
 */
const instants = new Map<string, Date | null>();
const MAX_CACHED_INSTANTS = 10_000;

function instantOf(text: string): Date | undefined {
  let date = instants.get(text);
  if (date === undefined) {
    const ms = parseInstant(text);
    date = ms === undefined ? null : new Date(ms);
    if (instants.size >= MAX_CACHED_INSTANTS) instants.clear();
    instants.set(text, date);
  }
  return date ?? undefined;
}

const jwkFault = (field: string, p: JwkProblem) =>
  new DeviceFault(
    p.member === '' ? `${field}.publicJwk` : `${field}.publicJwk.${p.member}`,
    'MALFORMED_REQUEST',
    `${field}.publicJwk${p.member === '' ? '' : `.${p.member}`} ${p.message}`,
  );

/**
 * Checks one credential of a manifest line (`field` is where it sits, `credentials[0]`)
 * and returns it as stored, or the fault. `keyCheck` is the public-key check: the cheap
 * shape check for bulk imports, the full one for single registrations.
 */
export function checkCredential(
  input: unknown,
  field: string,
  keyCheck: (jwk: unknown) => JwkProblem | undefined = publicJwkProblem,
): DeviceCredential | DeviceFault {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return new DeviceFault(field, 'MALFORMED_REQUEST', `${field} must be a JSON object`);
  }
  const raw = input as Record<string, unknown>;
  const { credentialId, kind, publicJwk, notBefore, notAfter } = raw;
  const present =
    (credentialId === undefined ? 0 : 1) +
    (kind === undefined ? 0 : 1) +
    (publicJwk === undefined ? 0 : 1) +
    (notBefore === undefined ? 0 : 1) +
    (notAfter === undefined ? 0 : 1);
  const unknown = present === Object.keys(raw).length ? undefined : unknownMember(raw, CREDENTIAL_FIELD_SET);
  if (unknown !== undefined) {
    return new DeviceFault(
      `${field}.${unknown}`,
      'MALFORMED_REQUEST',
      `${field}.${unknown} is not a credential field; one of ${CREDENTIAL_FIELDS.join(', ')}`,
    );
  }
  if (typeof credentialId !== 'string' || !CREDENTIAL_ID_PATTERN.test(credentialId)) {
    return new DeviceFault(
      `${field}.credentialId`,
      'INVALID_IDENTIFIER',
      `${field}.credentialId ${quoteValue(credentialId)} must be 1-128 characters of [A-Za-z0-9._:-]`,
    );
  }
  if (kind !== 'jwk') {
    return new DeviceFault(
      `${field}.kind`,
      'MALFORMED_REQUEST',
      `${field}.kind must be "jwk": X.509 credentials are issued by the city CA, never imported`,
    );
  }
  const problem = keyCheck(publicJwk);
  if (problem !== undefined) return jwkFault(field, problem);
  const from = typeof notBefore === 'string' ? instantOf(notBefore) : undefined;
  if (from === undefined) return badInstant(`${field}.notBefore`, notBefore);
  const to = typeof notAfter === 'string' ? instantOf(notAfter) : undefined;
  if (to === undefined) return badInstant(`${field}.notAfter`, notAfter);
  if (to.getTime() <= from.getTime()) {
    return new DeviceFault(`${field}.notAfter`, 'MALFORMED_REQUEST', `${field}.notAfter must be after notBefore`);
  }
  return { credentialId, kind, publicJwk: publicJwk as PublicJwk, notBefore: from, notAfter: to };
}

function badInstant(field: string, value: unknown): DeviceFault {
  return new DeviceFault(
    field,
    'MALFORMED_REQUEST',
    `${field} ${quoteValue(value)} must be an RFC 3339 date-time with an offset, e.g. 2025-01-01T00:00:00Z`,
  );
}
