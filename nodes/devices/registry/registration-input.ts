import { readFileSync } from 'node:fs';
import type { Clock } from '../../../common/clock.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { jwkThumbprint } from './public-jwk.js';

/** How long a credential registered without `notAfter` stays valid. */
export const DEFAULT_CREDENTIAL_VALIDITY_MS = 365 * 86_400_000;

/** A key as an operator types it: the JWK (JSON text or a file), its id and validity. */
export interface CredentialArguments {
  /** A public JWK as JSON text (`{...}`), or the path of a file holding one. */
  readonly jwk: string;
  /** Default: the RFC 7638 thumbprint of the key. */
  readonly credentialId?: string;
  /** RFC 3339; default: now. */
  readonly notBefore?: string;
  /** RFC 3339; default: a year after now. */
  readonly notAfter?: string;
}

function readJwk(value: string): { kty: string } {
  const text = value.trimStart().startsWith('{') ? value : readFileSync(value, 'utf8');
  try {
    const jwk = JSON.parse(text) as unknown;
    if (jwk !== null && typeof jwk === 'object' && typeof (jwk as { kty?: unknown }).kty === 'string') {
      return jwk as { kty: string };
    }
  } catch {
    // reported below
  }
  throw new MeshError('MALFORMED_REQUEST', 'jwk must be a public JWK as JSON text, or a file holding one', {
    details: { field: 'jwk' },
  });
}

/**
 * The credential as a manifest line spells it, for {@link DeviceRegistry.register} and
 * `rotateCredential`, which check it. Defaults that depend on `clock` make a repeated
 * registration differ: pass both times for an idempotent one.
 */
export function credentialFromArguments(args: CredentialArguments, clock: Clock) {
  const publicJwk = readJwk(args.jwk);
  return {
    credentialId: args.credentialId ?? jwkThumbprint(publicJwk),
    kind: 'jwk',
    publicJwk,
    notBefore: args.notBefore ?? clock.now().toISOString(),
    notAfter: args.notAfter ?? new Date(clock.nowMs() + DEFAULT_CREDENTIAL_VALIDITY_MS).toISOString(),
  };
}

/** `name=value` pairs as an attribute map (the value may contain `=`). */
export function attributesFromPairs(pairs: readonly string[]): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new MeshError('MALFORMED_REQUEST', `attribute must be name=value, not ${pair}`, {
        details: { field: 'attribute' },
      });
    }
    attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return attributes;
}
