import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader, errors } from 'jose';
import { z } from 'zod';
import { type ErrorCode, MeshError } from '../../common/errors/index.js';
import { isIndustry, parseResourceId, VERSION_PATTERN } from '../../common/ids/index.js';
import type { ClusterMetadataClaims } from '../../trust-anchor/index.js';
import { type AuthenticatedPeer, authenticatePeer } from '../exchange/index.js';

/** `typ` of a catalog change notice. */
export const CATALOG_CHANGE_TYP = 'citymesh-catalog-change+jwt';
/** How long a notice is valid: `exp - iat`. */
export const CATALOG_NOTICE_LIFETIME_SECONDS = 300;
/** Clock skew tolerated on `iat` and `exp`. */
export const CATALOG_NOTICE_LEEWAY_SECONDS = 30;
/** Most changes one notice carries; a bigger change set is split over several notices. */
export const MAX_NOTICE_CHANGES = 200;
/** Largest notice accepted (compact JWS, with its two certificates). */
export const MAX_NOTICE_BYTES = 96 * 1024;

const changeSchema = z.strictObject({
  id: z.string().min(1).max(300),
  kind: z.enum(['dataset', 'capability']),
  version: z.string().regex(VERSION_PATTERN),
  change: z.enum(['published', 'updated', 'withdrawn']),
  industry: z.string().refine((v): boolean => isIndustry(v), 'not an industry of the registry'),
});

const claimsSchema = z.strictObject({
  iss: z.string().min(1),
  cluster: z.string().min(1),
  city: z.string().min(1),
  seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().nonnegative(),
  changes: z.array(changeSchema).min(1).max(MAX_NOTICE_CHANGES),
});

/** One change of a node's catalog. */
export type CatalogChange = z.infer<typeof changeSchema>;
/** The payload of a catalog change notice. */
export type CatalogNoticeClaims = z.infer<typeof claimsSchema>;

/** What signs a notice: the node's current SVID key and its chain, leaf then city CA. */
export interface NoticeSigner {
  readonly privateKeyPem: string;
  readonly chainPems: readonly [string, string];
}

/** Signs a notice with the node's SVID key, `x5c` = [node SVID, city CA] (DER, base64). */
export function signCatalogNotice(claims: CatalogNoticeClaims, signer: NoticeSigner): Promise<string> {
  const x5c = signer.chainPems.map((pem) => new X509Certificate(pem).raw.toString('base64'));
  return new CompactSign(Buffer.from(JSON.stringify(claimsSchema.parse(claims))))
    .setProtectedHeader({ alg: 'ES256', typ: CATALOG_CHANGE_TYP, x5c })
    .sign(createPrivateKey(signer.privateKeyPem));
}

/** What {@link verifyCatalogNotice} checks against. */
export interface VerifyNoticeOptions {
  /** The receiving node's current, verified metadata. */
  readonly metadata: ClusterMetadataClaims;
  /** The pinned cluster root (PEM). */
  readonly rootPem: string;
  readonly now: Date;
}

/** A notice that verified, and the node that signed it. */
export interface VerifiedNotice {
  readonly claims: CatalogNoticeClaims;
  readonly publisher: AuthenticatedPeer;
}

function refuse(code: ErrorCode, rule: string, message: string): MeshError {
  return new MeshError(code, `catalog notice: ${message}`, { details: { rule } });
}

function headerOf(jws: string): { x5c: [string, string] } {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    throw refuse('TOKEN_MALFORMED', 'jws', 'is not a compact JWS');
  }
  if (header.alg !== 'ES256') throw refuse('TOKEN_ALG_NOT_ALLOWED', 'alg', `alg must be ES256, not ${header.alg}`);
  if (header.typ !== CATALOG_CHANGE_TYP)
    throw refuse('TOKEN_TYPE_MISMATCH', 'typ', `typ must be ${CATALOG_CHANGE_TYP}, not ${header.typ}`);
  if (header.crit !== undefined) throw refuse('TOKEN_CRIT_UNSUPPORTED', 'crit', 'crit is not supported');
  for (const h of ['jku', 'jwk', 'x5u'] as const) {
    if (header[h] !== undefined) throw refuse('TOKEN_HEADER_INJECTION', h, `header ${h} is not accepted`);
  }
  const { x5c } = header;
  if (!Array.isArray(x5c) || x5c.length !== 2 || x5c.some((c) => typeof c !== 'string' || c === '')) {
    throw refuse('TOKEN_MALFORMED', 'x5c', 'x5c must hold exactly the node SVID and its city CA');
  }
  return { x5c: x5c as [string, string] };
}

/**
 * Verifies a catalog change notice, each failure a MeshError naming its rule:
 * 1. header: compact JWS, `alg` ES256, `typ`, no `crit`/`jku`/`jwk`/`x5u`, `x5c` of two;
 * 2. the signature under the `x5c` leaf's key — `TOKEN_SIGNATURE_INVALID`;
 * 3. the payload's shape — `TOKEN_MALFORMED`;
 * 4. the leaf chains to the cluster root through a current CA of its city, names a node
 *    the metadata lists, and neither city, node nor certificates are revoked
 *    (`authenticatePeer`: `CERTIFICATE_*`, `NOT_A_MEMBER`, `CITY_REVOKED`, `NODE_REVOKED`);
 * 5. `iss` is the leaf's SPIFFE id — `TOKEN_ISSUER_MISMATCH`; `cluster`, `city` and every
 *    change's id are the publisher's — `PEER_IDENTITY_MISMATCH`;
 * 6. `iat` not ahead of now — `TOKEN_NOT_YET_VALID`; `exp - iat` ≤ 300 s —
 *    `TOKEN_LIFETIME_EXCEEDED`; `exp` not past — `TOKEN_EXPIRED` (30 s leeway each).
 * `seq` is left to the caller, which knows the last one seen.
 */
export async function verifyCatalogNotice(jws: string, options: VerifyNoticeOptions): Promise<VerifiedNotice> {
  if (jws.length > MAX_NOTICE_BYTES) throw refuse('TOKEN_TOO_LARGE', 'size', `exceeds ${MAX_NOTICE_BYTES} bytes`);
  const { x5c } = headerOf(jws);
  let certs: [X509Certificate, X509Certificate];
  try {
    certs = [new X509Certificate(Buffer.from(x5c[0], 'base64')), new X509Certificate(Buffer.from(x5c[1], 'base64'))];
  } catch {
    throw refuse('TOKEN_MALFORMED', 'x5c', 'x5c holds something that is not a DER certificate');
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, certs[0].publicKey, { algorithms: ['ES256'] }));
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed)
      throw refuse('TOKEN_SIGNATURE_INVALID', 'signature', 'the signature does not verify under the x5c leaf key');
    throw refuse('TOKEN_MALFORMED', 'jws', `does not verify: ${(err as Error).message}`);
  }
  let claims: CatalogNoticeClaims;
  try {
    claims = claimsSchema.parse(JSON.parse(Buffer.from(payload).toString('utf8')));
  } catch (err) {
    throw refuse('TOKEN_MALFORMED', 'claims', `payload is malformed: ${(err as Error).message.slice(0, 200)}`);
  }
  const publisher = authenticatePeer([certs[0].raw, certs[1].raw], options);
  if (claims.iss !== publisher.spiffeId) {
    throw refuse('TOKEN_ISSUER_MISMATCH', 'iss', `iss ${claims.iss} is not the signer ${publisher.spiffeId}`);
  }
  if (claims.cluster !== publisher.cluster || claims.city !== publisher.city) {
    throw refuse('PEER_IDENTITY_MISMATCH', 'city', `${claims.cluster}/${claims.city} is not ${publisher.spiffeId}'s`);
  }
  for (const change of claims.changes) {
    const id = parseResourceId(change.id, 'changes.id');
    if (id.version !== undefined || id.cluster !== claims.cluster || id.city !== claims.city) {
      throw refuse('PEER_IDENTITY_MISMATCH', 'change-id', `${change.id} is not an entry of ${claims.city}`);
    }
  }
  const now = Math.floor(options.now.getTime() / 1000);
  if (claims.iat > now + CATALOG_NOTICE_LEEWAY_SECONDS) throw refuse('TOKEN_NOT_YET_VALID', 'iat', 'iat is ahead');
  if (claims.exp - claims.iat > CATALOG_NOTICE_LIFETIME_SECONDS || claims.exp < claims.iat) {
    throw refuse('TOKEN_LIFETIME_EXCEEDED', 'lifetime', `must live at most ${CATALOG_NOTICE_LIFETIME_SECONDS} s`);
  }
  if (claims.exp + CATALOG_NOTICE_LEEWAY_SECONDS <= now) throw refuse('TOKEN_EXPIRED', 'exp', 'has expired');
  return { claims, publisher };
}
