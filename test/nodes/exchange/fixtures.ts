/**
 * A two-city `jjj` cluster for the exchange suites: the x509 test PKI (root, Beijing and
 * Tianjin CAs and node leaves, `forge`), plus what the metadata adds — federation keys,
 * node lists, a second Beijing CA the anchor never published — and builders for metadata
 * claims and node leaves. Everything is minted at `T0`; suites check at `NOW` = T0 + 1 h.
 */
import { CompactSign } from 'jose';
import {
  type ClusterMember,
  type ClusterMetadataClaims,
  createCsr,
  type EcKeyPair,
  exportPublicJwk,
  type FederationSigningKey,
  generateEcKeyPair,
  issueCityIntermediateCa,
  issueSpiffeLeaf,
  type Revocation,
} from '../../../trust-anchor/index.js';
import { buildPki, type Credential, HOUR, T0, type TestPki } from '../../trust-anchor/fixtures/x509/pki.js';

export { DAY, forge, HOUR, T0 } from '../../trust-anchor/fixtures/x509/pki.js';

/** When the suites check: one hour after the PKI was minted. */
export const NOW = new Date(T0.getTime() + HOUR);
export const NOW_S = Math.floor(NOW.getTime() / 1000);

export const BEIJING_NODE = 'spiffe://beijing.jjj.citymesh/node/node-1';
export const TIANJIN_NODE = 'spiffe://tianjin.jjj.citymesh/node/node-1';

/** A node's federation key: its signer and the public JWK the metadata carries. */
export interface FederationKey {
  readonly signing: FederationSigningKey;
  readonly pair: EcKeyPair;
  readonly jwk: Record<string, string>;
}

export interface ExchangePki extends TestPki {
  /** A Beijing city CA signed by the real root but never listed in the metadata (or replaced). */
  readonly beijingCaOld: Credential;
  /** `node-1` under {@link beijingCaOld}. */
  readonly beijingNodeOldCa: Credential;
  readonly beijingKey: FederationKey;
  readonly tianjinKey: FederationKey;
}

export async function federationKey(): Promise<FederationKey> {
  const pair = await generateEcKeyPair();
  const jwk = { ...(await exportPublicJwk(pair.publicKey)), use: 'sig' };
  return { pair, jwk, signing: { kid: pair.kid, privateKey: pair.privateKey, alg: 'ES256' } };
}

export async function cityCa(pki: TestPki, city: string): Promise<Credential> {
  const keys = await generateEcKeyPair();
  const csrPem = await createCsr({ keys, subjectCn: `${city} ca`, spiffeId: `spiffe://${city}.jjj.citymesh` });
  const cert = await issueCityIntermediateCa({
    csrPem,
    cluster: 'jjj',
    city,
    issuerCertPem: pki.root.cert.pem,
    issuerKeys: pki.root.keys,
    now: T0,
    lifetimeHours: 24 * 90,
  });
  return { cert, keys };
}

/** A leaf the real issuer signs (so it is well-formed), for any SPIFFE ID of the CA's city. */
export async function leafUnder(ca: Credential, spiffeId: string, now = T0, lifetimeHours = 24): Promise<Credential> {
  const keys = await generateEcKeyPair();
  const cert = await issueSpiffeLeaf({
    publicKey: keys.publicKey,
    spiffeId,
    dnsNames: ['localhost'],
    issuerCertPem: ca.cert.pem,
    issuerKeys: ca.keys,
    now,
    lifetimeHours,
  });
  return { cert, keys };
}

export async function buildExchangePki(): Promise<ExchangePki> {
  const pki = await buildPki();
  const beijingCaOld = await cityCa(pki, 'beijing');
  return {
    ...pki,
    beijingCaOld,
    beijingNodeOldCa: await leafUnder(beijingCaOld, BEIJING_NODE),
    beijingKey: await federationKey(),
    tianjinKey: await federationKey(),
  };
}

function member(city: string, ca: Credential, key: FederationKey, nodes: readonly string[]): ClusterMember {
  return {
    city,
    entity_id: `https://${city}.jjj.citymesh.example`,
    region_code: city === 'beijing' ? '110000' : '120000',
    trust_domain: `${city}.jjj.citymesh`,
    federation_jwks: { keys: [{ ...key.jwk }] },
    ca_certificates: [ca.cert.pem],
    nodes: nodes.map((name) => ({
      name,
      spiffe_id: `spiffe://${city}.jjj.citymesh/node/${name}`,
      grpc_endpoint: `${city}.example:7443`,
      https_endpoint: `https://${city}.jjj.citymesh.example`,
    })),
  };
}

/** What a test changes in the metadata; everything else is the two-city cluster at version 7. */
export interface MetadataChanges {
  readonly version?: number;
  readonly revocations?: readonly Pick<Revocation, 'kind' | 'id'>[];
  readonly members?: (members: ClusterMember[]) => ClusterMember[];
  readonly exp?: number;
}

/** Fresh metadata claims (a new object each call, as a newly verified version is). */
export function metadataOf(pki: ExchangePki, changes: MetadataChanges = {}): ClusterMetadataClaims {
  const iat = Math.floor(T0.getTime() / 1000);
  const version = changes.version ?? 7;
  const members = [
    member('beijing', pki.beijingCa, pki.beijingKey, ['node-1', 'node-2']),
    member('tianjin', pki.tianjinCa, pki.tianjinKey, ['node-1']),
  ];
  return {
    iss: 'https://anchor.jjj.citymesh.example',
    sub: 'https://anchor.jjj.citymesh.example',
    cluster: 'jjj',
    version,
    iat,
    exp: changes.exp ?? iat + 86_400,
    anchor_keys: { keys: [] },
    members: changes.members ? changes.members(members) : members,
    parameters: { metadata_lifetime_seconds: 86_400, certificate_lifetime_hours: 24, city_ca_lifetime_hours: 2160 },
    revocations: (changes.revocations ?? []).map((r) => ({ ...r, reason: 'test', revoked_at: iat, version })),
  };
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs any header and payload with a real key, as an attacker holding that key (or none) would. */
export async function signRaw(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: EcKeyPair['privateKey'] | Uint8Array,
  crit: Record<string, boolean> = {},
): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(key, { crit });
}

/** A compact JWS that is not signed at all (`alg: none` and friends). */
export function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}
