import { compactVerify, type JWK } from 'jose';
import type { ErrorDetails } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import { fail } from './failure.js';
import { type Instant, toSeconds } from './instant.js';
import { assertKeyFits, findKey, nativeVerificationKey } from './jwks.js';
import { verifyCompactSignature } from './jws-native.js';
import { FEDERATION_ALGORITHMS, type FederationAlgorithm, type JwkSet } from './types.js';

/** The pinned algorithm allowlist: `none` (any casing), HS*, RS* and the rest never verify. */
export const JWS_ALGORITHM_ALLOWLIST: readonly FederationAlgorithm[] = FEDERATION_ALGORITHMS;
/** Largest compact JWS accepted by default (64 KiB); checked before anything is decoded. */
export const DEFAULT_MAX_TOKEN_BYTES = 64 * 1024;
/** Default clock skew tolerated on `iat`, `nbf` and `exp` (seconds). */
export const DEFAULT_LEEWAY_SECONDS = 60;
/** Largest leeway an option may ask for: more would quietly stretch every lifetime. */
export const MAX_LEEWAY_SECONDS = 300;
/** Header parameters by which a token would name or carry its own key (RFC 7515 §4.1.2–4.1.6). */
export const KEY_SUPPLYING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;

/**
 * Header parameters defined by JWS/JWE/JWA, which `crit` must not list (RFC 7515 §4.1.11).
 */
const REGISTERED_HEADERS = new Set([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
  'enc',
  'zip',
]);

/** Options of {@link verifyJws}: what this use of a token expects. */
export interface VerifyJwsOptions {
  /** The `typ` this kind of token must declare, e.g. `entity-statement+jwt`. */
  expectedTyp: string;
  /** The trusted keys; the token's `kid` must name exactly one of them. */
  keys: JwkSet;
  /** The current time (seconds or Date). */
  now: Instant;
  /** Subset of {@link JWS_ALGORITHM_ALLOWLIST}; all of it by default. */
  algorithms?: readonly FederationAlgorithm[];
  /** Clock skew tolerated, seconds; {@link DEFAULT_LEEWAY_SECONDS} by default. */
  leewaySeconds?: number;
  /** Header extensions the caller understands and processes; `crit` may list only these. None by default. */
  understoodCrit?: readonly string[];
  /** Size limit in bytes; {@link DEFAULT_MAX_TOKEN_BYTES} by default. */
  maxBytes?: number;
  /** Whether `exp` must be present; true by default. */
  requireExp?: boolean;
}

/** The protected header of a token that passed the header checks. */
export interface JwsHeader {
  alg: FederationAlgorithm;
  kid: string;
  typ: string;
  crit?: string[];
  [parameter: string]: unknown;
}

/** A token whose header, signature and time claims verified. */
export interface VerifiedJws {
  header: JwsHeader;
  payload: Record<string, unknown>;
  /** The trusted key that verified the signature. */
  key: JWK;
}

interface ResolvedOptions {
  expectedTyp: string;
  keys: JwkSet;
  now: number;
  algorithms: readonly FederationAlgorithm[];
  leeway: number;
  understoodCrit: ReadonlySet<string>;
  maxBytes: number;
  requireExp: boolean;
}

/** What a check reports: a message and extra details; `undefined` when the check passes. */
type Problem = { message: string; details?: ErrorDetails } | undefined;

/** One small check: its rule name (in `details.rule`), the code it fails with, the test. */
interface Check<C> {
  rule: string;
  code: ErrorCode;
  check: (ctx: C) => Problem;
}

interface TokenContext {
  token: string;
  options: ResolvedOptions;
}

interface HeaderContext extends TokenContext {
  segments: readonly [string, string, string];
  header: Record<string, unknown>;
}

interface ClaimsContext extends HeaderContext {
  payload: Record<string, unknown>;
}

function run<C>(checks: readonly Check<C>[], ctx: C): void {
  for (const { rule, code, check } of checks) {
    const problem = check(ctx);
    if (problem !== undefined) throw fail(code, rule, problem.message, problem.details);
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** True when `segment` is base64url without padding in its one canonical spelling (no stray trailing bits). */
function isCanonicalBase64url(segment: string): boolean {
  return BASE64URL.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/** `typ` without an `application/` prefix, which RFC 7515 §4.1.9 lets senders omit and compares case-insensitively. */
function withoutMediaTypePrefix(typ: string): string {
  return /^application\//i.test(typ) ? typ.slice('application/'.length) : typ;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Strict UTF-8: a decoder without `stream` keeps no state between calls, so one serves them all. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a segment as a JSON object: base64url, strict UTF-8, JSON, an object. */
function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const text = STRICT_UTF8.decode(Buffer.from(segment, 'base64url'));
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Checks on the raw string, before anything is decoded. */
const TOKEN_CHECKS: readonly Check<TokenContext>[] = [
  {
    rule: 'max-size',
    code: 'TOKEN_TOO_LARGE',
    check: ({ token, options }) => {
      // Length first: cheap, and a string longer in UTF-16 units is longer in bytes too.
      const bytes = token.length > options.maxBytes ? token.length : Buffer.byteLength(token, 'utf8');
      return bytes > options.maxBytes
        ? {
            message: `token is ${bytes} bytes, more than the ${options.maxBytes} allowed`,
            details: { bytes, maxBytes: options.maxBytes },
          }
        : undefined;
    },
  },
  {
    rule: 'compact-shape',
    code: 'TOKEN_MALFORMED',
    check: ({ token }) => {
      const segments = token.split('.');
      if (segments.length !== 3) return { message: `a compact JWS has 3 segments, this has ${segments.length}` };
      // An empty signature passes here so that `alg: none` is refused for what it is.
      if (segments[0] === '' || segments[1] === '')
        return { message: 'the header and payload segments must not be empty' };
      const bad = segments.findIndex((segment) => !isCanonicalBase64url(segment));
      return bad === -1
        ? undefined
        : { message: `segment ${bad} is not canonical unpadded base64url`, details: { segment: bad } };
    },
  },
];

/** Checks on the decoded protected header, before the signature. */
const HEADER_CHECKS: readonly Check<HeaderContext>[] = [
  {
    rule: 'alg-allowlist',
    code: 'TOKEN_ALG_NOT_ALLOWED',
    check: ({ header, options }) =>
      typeof header.alg === 'string' && (options.algorithms as readonly string[]).includes(header.alg)
        ? undefined
        : {
            message: `alg ${JSON.stringify(header.alg) ?? 'undefined'} is not one of ${options.algorithms.join(', ')}`,
            details: { alg: typeof header.alg === 'string' ? header.alg : null },
          },
  },
  {
    rule: 'key-supplying-header',
    code: 'TOKEN_HEADER_INJECTION',
    check: ({ header }) => {
      const found = KEY_SUPPLYING_HEADERS.find((name) => Object.hasOwn(header, name));
      return found === undefined
        ? undefined
        : {
            message: `header "${found}" would let the token choose its own key; keys come only from the trusted set`,
            details: { header: found },
          };
    },
  },
  {
    rule: 'typ',
    code: 'TOKEN_TYPE_MISMATCH',
    check: ({ header, options }) =>
      typeof header.typ === 'string' &&
      withoutMediaTypePrefix(header.typ) === withoutMediaTypePrefix(options.expectedTyp)
        ? undefined
        : {
            message: `typ ${JSON.stringify(header.typ) ?? 'undefined'} is not "${options.expectedTyp}"`,
            details: { typ: typeof header.typ === 'string' ? header.typ : null, expected: options.expectedTyp },
          },
  },
  {
    rule: 'crit',
    code: 'TOKEN_CRIT_UNSUPPORTED',
    check: ({ header, options }) => {
      if (!Object.hasOwn(header, 'crit')) return undefined;
      const crit = header.crit;
      // RFC 7515 §4.1.11: a non-empty array of names, none defined by JWS/JWA, each understood and present.
      if (!Array.isArray(crit) || crit.length === 0 || !crit.every((name) => typeof name === 'string')) {
        return { message: 'crit must be a non-empty array of header names' };
      }
      if (new Set(crit).size !== crit.length) return { message: 'crit lists a name twice' };
      for (const name of crit as string[]) {
        if (REGISTERED_HEADERS.has(name))
          return { message: `crit must not list "${name}", which JWS defines`, details: { crit: name } };
        if (!options.understoodCrit.has(name))
          return { message: `crit lists "${name}", which this verifier does not understand`, details: { crit: name } };
        if (!Object.hasOwn(header, name))
          return { message: `crit lists "${name}", which the header does not carry`, details: { crit: name } };
      }
      return undefined;
    },
  },
  {
    rule: 'kid',
    code: 'TOKEN_KEY_UNKNOWN',
    check: ({ header }) =>
      typeof header.kid === 'string' && header.kid !== ''
        ? undefined
        : { message: 'the header must name its key with a non-empty kid' },
  },
];

const NUMERIC_DATE_CLAIMS = ['iat', 'nbf', 'exp'] as const;

/** Checks on the claims, after the signature verified. */
/** `iat` and `nbf` may not lie beyond now + leeway (RFC 7519 §4.1.5, §4.1.6). */
function notInFuture(claim: 'iat' | 'nbf'): Check<ClaimsContext> {
  return {
    rule: `${claim}-future`,
    code: 'TOKEN_NOT_YET_VALID',
    check: ({ payload, options }) => {
      const value = payload[claim];
      return typeof value === 'number' && value > options.now + options.leeway
        ? {
            message: `${claim} ${value} is in the future (now ${options.now}, leeway ${options.leeway} s)`,
            details: { [claim]: value, now: options.now },
          }
        : undefined;
    },
  };
}

const CLAIM_CHECKS: readonly Check<ClaimsContext>[] = [
  {
    rule: 'numeric-date',
    code: 'TOKEN_MALFORMED',
    check: ({ payload }) => {
      const bad = NUMERIC_DATE_CLAIMS.find((claim) => payload[claim] !== undefined && !Number.isFinite(payload[claim]));
      return bad === undefined
        ? undefined
        : { message: `${bad} must be a NumericDate (RFC 7519 §2)`, details: { claim: bad } };
    },
  },
  {
    rule: 'exp-required',
    code: 'TOKEN_MALFORMED',
    check: ({ payload, options }) =>
      options.requireExp && payload.exp === undefined
        ? { message: 'exp is required', details: { claim: 'exp' } }
        : undefined,
  },
  {
    rule: 'exp-after-iat',
    code: 'TOKEN_MALFORMED',
    check: ({ payload }) =>
      typeof payload.exp === 'number' && typeof payload.iat === 'number' && payload.exp <= payload.iat
        ? { message: 'exp must be after iat', details: { claim: 'exp' } }
        : undefined,
  },
  notInFuture('iat'),
  notInFuture('nbf'),
  {
    rule: 'expired',
    code: 'TOKEN_EXPIRED',
    // RFC 7519 §4.1.4: the current time must be before exp.
    check: ({ payload, options }) =>
      typeof payload.exp === 'number' && options.now - options.leeway >= payload.exp
        ? {
            message: `expired at ${payload.exp} (now ${options.now}, leeway ${options.leeway} s)`,
            details: { exp: payload.exp, now: options.now },
          }
        : undefined,
  },
];

/**
 * Validates options once, up front.
 *
 * @throws TypeError naming the option that is wrong
 */
function resolveOptions(options: VerifyJwsOptions): ResolvedOptions {
  if (typeof options.expectedTyp !== 'string' || options.expectedTyp === '') {
    throw new TypeError('expectedTyp must be a non-empty string');
  }
  if (typeof options.keys !== 'object' || options.keys === null || !Array.isArray(options.keys.keys)) {
    throw new TypeError('keys must be a JWK Set ({ keys: JWK[] })');
  }
  const algorithms = options.algorithms ?? JWS_ALGORITHM_ALLOWLIST;
  if (algorithms.length === 0 || !algorithms.every((alg) => JWS_ALGORITHM_ALLOWLIST.includes(alg))) {
    throw new TypeError(`algorithms must be a non-empty subset of ${JWS_ALGORITHM_ALLOWLIST.join(', ')}`);
  }
  const leeway = options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS;
  if (!Number.isFinite(leeway) || leeway < 0 || leeway > MAX_LEEWAY_SECONDS) {
    throw new TypeError(`leewaySeconds must be between 0 and ${MAX_LEEWAY_SECONDS}`);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TypeError('maxBytes must be a positive integer');
  const understood = options.understoodCrit ?? [];
  if (!understood.every((name) => typeof name === 'string' && !REGISTERED_HEADERS.has(name))) {
    throw new TypeError('understoodCrit must list extension header names only');
  }
  return {
    expectedTyp: options.expectedTyp,
    keys: options.keys,
    now: toSeconds(options.now),
    algorithms,
    leeway,
    understoodCrit: new Set(understood),
    maxBytes,
    requireExp: options.requireExp ?? true,
  };
}

/** Runs the checks that need no key: size, shape, header. Returns the parsed header. */
function inspect(token: unknown, options: ResolvedOptions): HeaderContext {
  if (typeof token !== 'string') throw fail('TOKEN_MALFORMED', 'type', 'a token must be a string');
  run(TOKEN_CHECKS, { token, options });
  const segments = token.split('.') as unknown as readonly [string, string, string];
  const header = decodeJsonObject(segments[0]);
  if (header === undefined) throw fail('TOKEN_MALFORMED', 'header-json', 'the protected header is not a JSON object');
  const ctx: HeaderContext = { token, options, segments, header };
  run(HEADER_CHECKS, ctx);
  return ctx;
}

/**
 * Decodes a token that passed every header check, without verifying it. Only for reading
 * the keys a self-signed entity configuration carries, so it can then be verified with
 * them; never trust anything else it returns.
 *
 * @internal
 */
export function decodeUnverified(
  token: unknown,
  options: Omit<VerifyJwsOptions, 'keys'>,
): { header: JwsHeader; payload: Record<string, unknown> } {
  const ctx = inspect(token, resolveOptions({ ...options, keys: { keys: [] } }));
  const payload = decodeJsonObject(ctx.segments[1]);
  if (payload === undefined) throw fail('TOKEN_MALFORMED', 'payload-json', 'the payload is not a JSON object');
  return { header: ctx.header as JwsHeader, payload };
}

/**
 * The signature check. A token without `crit` (every token citymesh issues) is checked
 * with node:crypto on a cached KeyObject, synchronously: the header checks above already
 * fixed `alg` and the key, so nothing but the signature over the first two segments is
 * left to check. A header with `crit` goes through jose's `compactVerify`, which also
 * knows extensions that change what is signed (RFC 7797 `b64`).
 *
 * @throws MeshError `TOKEN_KEY_UNKNOWN` (`key-unusable`), `TOKEN_SIGNATURE_INVALID` (`signature`)
 */
async function verifySignature(
  ctx: HeaderContext,
  header: JwsHeader,
  jwk: JWK,
  resolved: ResolvedOptions,
): Promise<void> {
  const invalid = (cause: unknown) =>
    fail(
      'TOKEN_SIGNATURE_INVALID',
      'signature',
      `the signature does not verify with key "${header.kid}"`,
      { kid: header.kid },
      cause,
    );
  const key = nativeVerificationKey(jwk, header.alg);
  if (!Object.hasOwn(header, 'crit')) {
    const [protectedHeader, payload, signature] = ctx.segments;
    if (!verifyCompactSignature(header.alg, key, `${protectedHeader}.${payload}`, signature)) {
      throw invalid(new Error('signature verification failed'));
    }
    return;
  }
  try {
    await compactVerify(ctx.token, key, {
      algorithms: [header.alg],
      crit: Object.fromEntries([...resolved.understoodCrit].map((name) => [name, true])),
    });
  } catch (err) {
    throw invalid(err);
  }
}

/**
 * Verifies a compact JWS/JWT strictly: the shared header checks every citymesh token
 * verifier uses, then the signature (node:crypto, or jose `compactVerify` for a header with `crit`) with the one trusted key its
 * `kid` names, then `iat`/`nbf`/`exp`. The checks run in this order, each failing with its
 * own code: size (`TOKEN_TOO_LARGE`), compact shape (`TOKEN_MALFORMED`), `alg` in the pinned
 * allowlist (`TOKEN_ALG_NOT_ALLOWED`), no `jku`/`jwk`/`x5u`/`x5c` (`TOKEN_HEADER_INJECTION`),
 * `typ` (`TOKEN_TYPE_MISMATCH`), `crit` (`TOKEN_CRIT_UNSUPPORTED`), `kid` (`TOKEN_KEY_UNKNOWN`),
 * signature (`TOKEN_SIGNATURE_INVALID`), payload (`TOKEN_MALFORMED`), `iat`/`nbf` in the future
 * (`TOKEN_NOT_YET_VALID`), `exp` past (`TOKEN_EXPIRED`).
 *
 * `typ` compares exactly, except that an `application/` prefix is optional and
 * case-insensitive (RFC 7515 §4.1.9). Leeway applies to `iat`, `nbf` and `exp` alike.
 *
 * @throws MeshError with one of the codes above and `details.rule`
 * @throws TypeError when an option is invalid
 */
export async function verifyJws(token: unknown, options: VerifyJwsOptions): Promise<VerifiedJws> {
  const resolved = resolveOptions(options);
  const ctx = inspect(token, resolved);
  const header = ctx.header as JwsHeader;
  const jwk = findKey(resolved.keys, header.kid);
  assertKeyFits(jwk, header.alg);
  await verifySignature(ctx, header, jwk, resolved);
  const payload = decodeJsonObject(ctx.segments[1]);
  if (payload === undefined) throw fail('TOKEN_MALFORMED', 'payload-json', 'the payload is not a JSON object');
  run(CLAIM_CHECKS, { ...ctx, payload });
  return { header, payload, key: jwk };
}
