import { createHmac, createPrivateKey, createPublicKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import { decodeJwt, type JWK } from 'jose';
import * as client from 'openid-client';
import { systemClock } from '../../../common/clock.js';
import { oidcSigningJwks } from '../../../nodes/oidc/index.js';
import type { ClusterMetadataClaims, JwkSet, Revocation } from '../../../trust-anchor/index.js';
import { discover, RESOURCE, registerApp, type TestCity } from './harness.js';

/** Helpers for the access-token verifier tests: real tokens, forged ones, metadata. */

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS with any header, signed ES256 by `key` with node:crypto (no library refuses to build it). */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** `alg: none` in the given casing: no signature, or the real one left in place. */
export function unsecured(alg: string, payload: Record<string, unknown>, kid: string, signature = ''): string {
  return `${b64({ alg, typ: 'at+jwt', kid })}.${b64(payload)}.${signature}`;
}

/** The key-confusion attack: HS256 with the verifier's public key bytes as the HMAC secret. */
export function hs256WithPublicKey(payload: Record<string, unknown>, kid: string, secret: Buffer | string): string {
  const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The provider's published keys, fetched as a resource server would. */
export async function publishedJwks(city: TestCity): Promise<JwkSet> {
  return (await (await city.fetch(`${city.issuer}/jwks`)).json()) as JwkSet;
}

/** The provider's own signing key (private), to sign tokens it would never issue. */
export async function providerSigningKey(city: TestCity): Promise<{ key: KeyObject; kid: string; jwk: JWK }> {
  const [jwk] = (await oidcSigningJwks(city.stores.keys, systemClock)).keys;
  const key = createPrivateKey({ key: jwk!, format: 'jwk' });
  return { key, kid: jwk!.kid as string, jwk: createPublicKey(key).export({ format: 'jwk' }) as JWK };
}

/** A real client_credentials access token from the running provider. */
export async function realToken(city: TestCity, clientId: string, resource = RESOURCE): Promise<string> {
  const app = await registerApp(city, { clientId });
  const config = await discover(city, clientId, app.privateKey, 'es256-1');
  return (await client.clientCredentialsGrant(config, { resource, scope: 'datasets:read' })).access_token;
}

/** The claims of `token` with a fresh `jti` and times around `nowS`, changed by `overrides`. */
export function claimsLike(token: string, nowS: number, overrides: Record<string, unknown> = {}) {
  return { ...decodeJwt(token), jti: randomUUID(), iat: nowS, exp: nowS + 300, ...overrides } as Record<
    string,
    unknown
  >;
}

/** Cluster metadata with only what the verifier reads: the version and the revocations. */
export function metadata(version: number, revocations: Revocation[] = []): ClusterMetadataClaims {
  return {
    iss: 'https://anchor.jjj.example',
    sub: 'https://anchor.jjj.example',
    cluster: 'jjj',
    version,
    iat: 0,
    exp: 0,
    anchor_keys: { keys: [] },
    members: [],
    parameters: { metadata_lifetime_seconds: 3600, certificate_lifetime_hours: 24 },
    revocations,
  };
}

export const revoked = (kind: Revocation['kind'], id: string, version: number): Revocation => ({
  kind,
  id,
  reason: 'test',
  revoked_at: 0,
  version,
});
