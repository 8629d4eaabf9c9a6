import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, errors, type JWK, jwtVerify } from 'jose';
import type { ErrorCode } from '../../common/errors/index.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { ReplayCache } from '../exchange/index.js';

/** How old a DPoP proof may be, and how far in the future it may claim to be made. */
const MAX_PROOF_AGE_SECONDS = 60;
const LEEWAY_SECONDS = 10;
const MAX_PROOF_BYTES = 4096;

function refuse(code: ErrorCode, rule: string, message: string, cause?: unknown): MeshError {
  return new MeshError(code, `DPoP proof refused: ${message}`, {
    details: { rule },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Checks the DPoP proof (RFC 9449 §4.3) that must come with a DPoP-bound access token on a
 * gRPC call, in the `dpop` metadata entry. gRPC runs over HTTP/2 POST, so the proof names
 * `htm` = `POST` and `htu` = `https://<the node's gRPC endpoint>/<package.Service>/<Method>`;
 * it must be signed by the key the token is bound to (`cnf.jkt`), carry the token's hash
 * (`ath`), be fresh, and be used once (`jti`).
 */
export async function verifyGrpcDpopProof(input: {
  readonly proof: string | undefined;
  readonly accessToken: string;
  readonly jkt: string;
  readonly htu: string;
  readonly now: Date;
  readonly replay: ReplayCache;
}): Promise<void> {
  const { proof } = input;
  if (proof === undefined || proof === '') {
    throw refuse(
      'CREDENTIALS_MISSING',
      'dpop-missing',
      'a DPoP-bound token needs a proof in the `dpop` metadata entry',
    );
  }
  if (proof.length > MAX_PROOF_BYTES)
    throw refuse('TOKEN_TOO_LARGE', 'dpop-size', `larger than ${MAX_PROOF_BYTES} bytes`);
  let payload: Record<string, unknown>;
  let jwk: JWK;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'EdDSA'],
      currentDate: input.now,
      clockTolerance: LEEWAY_SECONDS,
      maxTokenAge: MAX_PROOF_AGE_SECONDS,
    });
    payload = verified.payload as Record<string, unknown>;
    jwk = verified.protectedHeader.jwk as JWK;
  } catch (cause) {
    if (cause instanceof errors.JOSEAlgNotAllowed)
      throw refuse('TOKEN_ALG_NOT_ALLOWED', 'dpop-alg', 'alg not allowed', cause);
    if (cause instanceof errors.JWTExpired) throw refuse('TOKEN_EXPIRED', 'dpop-age', 'too old', cause);
    if (cause instanceof errors.JWTClaimValidationFailed && cause.claim === 'typ') {
      throw refuse('TOKEN_TYPE_MISMATCH', 'dpop-typ', 'typ must be dpop+jwt', cause);
    }
    throw refuse('TOKEN_SIGNATURE_INVALID', 'dpop-signature', 'it does not verify', cause);
  }
  if ('d' in jwk) throw refuse('TOKEN_HEADER_INJECTION', 'dpop-private-key', 'its jwk carries a private key');
  if ((await calculateJwkThumbprint(jwk, 'sha256')) !== input.jkt) {
    throw refuse('TOKEN_KEY_UNKNOWN', 'dpop-key', 'signed by another key than the token is bound to');
  }
  if (payload.htm !== 'POST' || payload.htu !== input.htu) {
    throw refuse(
      'TOKEN_AUDIENCE_MISMATCH',
      'dpop-htu',
      `made for ${String(payload.htm)} ${String(payload.htu)}, not POST ${input.htu}`,
    );
  }
  const ath = createHash('sha256').update(input.accessToken).digest('base64url');
  if (payload.ath !== ath) throw refuse('TOKEN_AUDIENCE_MISMATCH', 'dpop-ath', 'made for another access token');
  const jti = payload.jti;
  const iat = payload.iat;
  if (typeof jti !== 'string' || jti === '' || jti.length > 256 || typeof iat !== 'number') {
    throw refuse('TOKEN_MALFORMED', 'dpop-claims', 'jti and iat are required');
  }
  const nowSeconds = Math.floor(input.now.getTime() / 1000);
  const first = await input.replay.firstUse(`dpop:${jti}`, iat + MAX_PROOF_AGE_SECONDS + LEEWAY_SECONDS, nowSeconds);
  if (!first) throw refuse('TOKEN_REPLAYED', 'dpop-jti', `proof ${jti} was already used`);
}
