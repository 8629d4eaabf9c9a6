/**
 * Generates the federation test vectors in this folder: one JSON file per case, each
 * naming the rule it exercises and the code it must be refused with (or `ok`).
 *
 * Run after a build: `npm run build && node dist/test/vectors/federation/generate.js`
 * (from the repository root; an output folder may be passed as the first argument).
 * Keys come from `keys.json` here (TEST-ONLY private keys, created on the first run), so
 * regenerating keeps every kid; ECDSA signatures are randomized, so the JWT bytes change.
 * `test/trust-anchor/federation-vectors.test.ts` also runs this generator in memory to
 * check that the committed files and the generator agree.
 */
import { createPublicKey } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { base64url, calculateJwkThumbprint, type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { sha256Canonical } from '../../../common/canonical-json.js';
import type { ErrorCode } from '../../../common/errors/registry.js';
import {
  CLUSTER_METADATA_TYP,
  type ClusterMember,
  type ClusterMetadataClaims,
  ENTITY_STATEMENT_TYP,
  type EntityStatementClaims,
  type FederationAlgorithm,
  publicJwk,
  type StatementConstraints,
  signClusterMetadata,
  signEntityStatement,
  type TrustAnchorPin,
} from '../../../trust-anchor/federation/index.js';
import type { FederationVector, MetadataInput, VectorInput } from './vector.js';

/** The instant every vector is verified at: 2026-01-01T00:00:00Z. */
export const VECTOR_NOW = 1_767_225_600;

export const ANCHOR = 'https://anchor.jjj.citymesh.example';
export const BEIJING = 'https://beijing.jjj.citymesh.example';
export const TIANJIN = 'https://tianjin.jjj.citymesh.example';
export const BINHAI = 'https://binhai.tianjin.jjj.citymesh.example';
export const PORT = 'https://port.binhai.tianjin.jjj.citymesh.example';
export const OUTSIDER = 'https://beijing-jjj.example.org';

/** A stand-in CA certificate: the verifiers check PEM shape only. Not a real certificate. */
export const TEST_PEM = '-----BEGIN CERTIFICATE-----\nVEVTVC1PTkxZLWNpdHltZXNoLWZlZGVyYXRpb24tdmVjdG9y\n-----END CERTIFICATE-----\n';

const KEY_NAMES = ['anchorOld', 'anchorNext', 'beijing', 'tianjin', 'binhai', 'port', 'rogue'] as const;
/** The test keys by role; `rogue` is pinned nowhere. */
export type KeyName = (typeof KEY_NAMES)[number];
const KEY_ALGS: Record<KeyName, FederationAlgorithm> = {
  anchorOld: 'ES256',
  anchorNext: 'ES256',
  beijing: 'ES256',
  tianjin: 'EdDSA',
  binhai: 'ES256',
  port: 'ES256',
  rogue: 'ES256',
};

/** A test key: private JWK (from keys.json), public JWK, imported private key. */
export interface TestKey {
  kid: string;
  alg: FederationAlgorithm;
  privateJwk: JWK;
  publicJwk: JWK;
  privateKey: CryptoKey;
}

export type TestKeys = Record<KeyName, TestKey>;

interface KeysFile {
  _warning: string;
  keys: Record<KeyName, JWK>;
}

const KEYS_WARNING =
  'TEST-ONLY private keys for the federation test vectors. They are public, trust nothing signed with them, never use them outside tests.';

async function newKey(alg: FederationAlgorithm): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

/** Loads `keys.json` from `dir`, creating it (and any missing key) when needed. */
export async function loadOrCreateKeys(dir: string): Promise<TestKeys> {
  const file = path.join(dir, 'keys.json');
  let stored: Partial<Record<KeyName, JWK>> = {};
  try {
    stored = (JSON.parse(await readFile(file, 'utf8')) as KeysFile).keys;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let changed = false;
  for (const name of KEY_NAMES) {
    if (stored[name] === undefined) {
      stored[name] = await newKey(KEY_ALGS[name]);
      changed = true;
    }
  }
  if (changed) await writeFile(file, `${JSON.stringify({ _warning: KEYS_WARNING, keys: stored }, null, 2)}\n`);
  return importKeys(stored as Record<KeyName, JWK>);
}

/** Reads `keys.json` without writing anything. */
export async function readKeys(dir: string): Promise<TestKeys> {
  return importKeys((JSON.parse(await readFile(path.join(dir, 'keys.json'), 'utf8')) as KeysFile).keys);
}

async function importKeys(jwks: Record<KeyName, JWK>): Promise<TestKeys> {
  const out = {} as TestKeys;
  for (const name of KEY_NAMES) {
    const jwk = jwks[name];
    const alg = KEY_ALGS[name];
    out[name] = { kid: jwk.kid!, alg, privateJwk: jwk, publicJwk: publicJwk(jwk), privateKey: (await importJWK(jwk, alg)) as CryptoKey };
  }
  return out;
}

const b64json = (value: unknown) => base64url.encode(JSON.stringify(value));

/** Everything the builders need: keys and `now`. */
export class Fixtures {
  constructor(
    readonly keys: TestKeys,
    readonly now = VECTOR_NOW,
  ) {}

  jwks(...names: KeyName[]) {
    return { keys: names.map((name) => this.keys[name].publicJwk) };
  }

  get pins(): TrustAnchorPin[] {
    return [{ entityId: ANCHOR, jwks: this.jwks('anchorOld') }];
  }

  signer(name: KeyName) {
    const { kid, alg, privateKey } = this.keys[name];
    return { kid, alg, privateKey };
  }

  /** Signs anything, with any header: for the tokens the library refuses to produce. */
  async raw(payload: object, name: KeyName, header: Record<string, unknown> = {}, crit?: Record<string, boolean>): Promise<string> {
    const key = this.keys[name];
    return new SignJWT(payload as Record<string, unknown>)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ENTITY_STATEMENT_TYP, ...header })
      .sign(key.privateKey, crit === undefined ? undefined : { crit });
  }

  anchorConfiguration(overrides: Partial<EntityStatementClaims> = {}): EntityStatementClaims {
    return {
      iss: ANCHOR,
      sub: ANCHOR,
      iat: this.now - 60,
      exp: this.now + 86_400,
      jwks: this.jwks('anchorOld'),
      metadata: {
        federation_entity: {
          organization_name: 'jjj cluster trust anchor',
          federation_fetch_endpoint: `${ANCHOR}/fetch`,
          federation_list_endpoint: `${ANCHOR}/list`,
          federation_resolve_endpoint: `${ANCHOR}/resolve`,
          federation_historical_keys_endpoint: `${ANCHOR}/historical-jwks`,
        },
      },
      ...overrides,
    };
  }

  nodeMetadata(city: 'beijing' | 'tianjin', overrides: Record<string, unknown> = {}) {
    return {
      cluster: 'jjj',
      city,
      region_code: city === 'beijing' ? '110000' : '120000',
      trust_domain: `${city}.jjj.citymesh`,
      grpc_endpoint: `${city}.jjj.citymesh.example:8443`,
      https_endpoint: `https://${city}.jjj.citymesh.example`,
      ca_certificates: [TEST_PEM],
      ...overrides,
    };
  }

  cityConfiguration(entityId: string, key: KeyName, overrides: Partial<EntityStatementClaims> = {}): EntityStatementClaims {
    const city = entityId === BEIJING ? 'beijing' : entityId === TIANJIN ? 'tianjin' : undefined;
    return {
      iss: entityId,
      sub: entityId,
      iat: this.now - 60,
      exp: this.now + 86_400,
      jwks: this.jwks(key),
      authority_hints: [ANCHOR],
      metadata: city === undefined ? { federation_entity: { organization_name: entityId } } : { citymesh_node: this.nodeMetadata(city) },
      ...overrides,
    };
  }

  /** The `citymesh_node` identity the anchor vouches for in its statement about a city. */
  identity(city: 'beijing' | 'tianjin', overrides: Record<string, unknown> = {}) {
    const { cluster, region_code, trust_domain } = this.nodeMetadata(city);
    return { cluster, city, region_code, trust_domain, ...overrides };
  }

  /** A subordinate statement; about Beijing or Tianjin (or the outsider posing as Beijing) it vouches for the city's identity. */
  subordinate(iss: string, sub: string, subjectKey: KeyName, overrides: Partial<EntityStatementClaims> = {}): EntityStatementClaims {
    const constraints: StatementConstraints = {
      max_path_length: 1,
      naming_constraints: { permitted: ['.jjj.citymesh.example'] },
      allowed_entity_types: ['citymesh_node'],
    };
    const city = sub === BEIJING || sub === OUTSIDER ? 'beijing' : sub === TIANJIN ? 'tianjin' : undefined;
    return {
      iss,
      sub,
      iat: this.now - 60,
      exp: this.now + 3_600,
      jwks: this.jwks(subjectKey),
      constraints,
      ...(city === undefined ? {} : { metadata: { citymesh_node: this.identity(city) } }),
      ...overrides,
    };
  }

  /** `[beijing EC, anchor's statement about beijing, anchor EC]`, each part overridable. */
  async beijingChain(parts: { leaf?: string; link?: string; anchor?: string } = {}): Promise<string[]> {
    return [
      parts.leaf ?? (await signEntityStatement(this.cityConfiguration(BEIJING, 'beijing'), this.signer('beijing'))),
      parts.link ??
        (await signEntityStatement(
          this.subordinate(ANCHOR, BEIJING, 'beijing', { metadata: { citymesh_node: { ...this.identity('beijing'), ca_certificates: [TEST_PEM] } } }),
          this.signer('anchorOld'),
        )),
      parts.anchor ?? (await signEntityStatement(this.anchorConfiguration(), this.signer('anchorOld'))),
    ];
  }

  /** `[binhai EC, tianjin about binhai, anchor about tianjin, anchor EC]`: one intermediate. */
  async binhaiChain(anchorAboutTianjin: Partial<EntityStatementClaims> = {}): Promise<string[]> {
    return [
      await signEntityStatement(this.cityConfiguration(BINHAI, 'binhai', { authority_hints: [TIANJIN] }), this.signer('binhai')),
      await signEntityStatement(
        this.subordinate(TIANJIN, BINHAI, 'binhai', { constraints: { allowed_entity_types: ['citymesh_node'] } }),
        this.signer('tianjin'),
      ),
      await signEntityStatement(this.subordinate(ANCHOR, TIANJIN, 'tianjin', anchorAboutTianjin), this.signer('anchorOld')),
      await signEntityStatement(this.anchorConfiguration(), this.signer('anchorOld')),
    ];
  }

  member(city: 'beijing' | 'tianjin'): ClusterMember {
    const entityId = city === 'beijing' ? BEIJING : TIANJIN;
    const nodes = (city === 'beijing' ? ['node-1', 'node-2'] : ['node-1']).map((name) => ({
      name,
      spiffe_id: `spiffe://${city}.jjj.citymesh/node/${name}`,
      grpc_endpoint: `${name}.${city}.jjj.citymesh.example:8443`,
      https_endpoint: `https://${name}.${city}.jjj.citymesh.example`,
    }));
    return {
      city,
      entity_id: entityId,
      region_code: city === 'beijing' ? '110000' : '120000',
      trust_domain: `${city}.jjj.citymesh`,
      federation_jwks: this.jwks(city),
      ca_certificates: [TEST_PEM],
      nodes,
    };
  }

  clusterClaims(version: number, overrides: Partial<ClusterMetadataClaims> = {}): ClusterMetadataClaims {
    const iat = this.now - 600;
    return {
      iss: ANCHOR,
      sub: ANCHOR,
      cluster: 'jjj',
      version,
      iat,
      exp: iat + 86_400,
      anchor_keys: this.jwks('anchorOld'),
      members: [this.member('beijing'), this.member('tianjin')],
      parameters: { metadata_lifetime_seconds: 86_400, certificate_lifetime_hours: 24 },
      revocations: [],
      ...overrides,
    };
  }

  async metadata(claims: ClusterMetadataClaims, key: KeyName = 'anchorOld'): Promise<string> {
    return signClusterMetadata(claims, this.signer(key));
  }

  metadataInput(jwt: string, extra: Partial<MetadataInput> = {}): MetadataInput {
    return { jwt, anchorKeys: this.jwks('anchorOld'), expectedCluster: 'jjj', ...extra };
  }
}

/** A compact JWS with the given header and payload and an empty signature (for `alg: none`). */
function unsigned(header: object, payload: object): string {
  return `${b64json(header)}.${b64json(payload)}.`;
}

/** For each refusal vector, the check (`details.rule`) that must refuse it, so no vector passes by accident. */
const CHECKS: Record<string, string> = {
  'spoofed-anchor-configuration': 'sub',
  'chain-subject-mismatch': 'sub',
  'chain-anchor-not-pinned': 'anchor-not-pinned',
  'wrong-key-claims-pinned-kid': 'signature',
  'wrong-key-metadata': 'kid-unknown',
  'unknown-kid': 'kid-unknown',
  'leaf-not-self-signed': 'not-self-signed',
  'expired-link': 'expired',
  'chain-broken-linkage': 'linkage',
  'chain-too-long': 'max-path-length',
  'too-many-authority-hints': 'authority-hints',
  'max-path-length-constraint': 'max-path-length',
  'naming-constraint-violated': 'naming-constraints',
  'naming-constraint-excluded': 'naming-constraints',
  'citymesh-trust-domain-mismatch': 'trust-domain',
  'citymesh-identity-not-vouched': 'citymesh-identity-not-vouched',
  'crit-header-unknown': 'crit',
  'crit-claim-unknown': 'crit-claim',
  'metadata-policy-unsupported': 'metadata-policy-unsupported',
  'typ-access-token-as-entity-statement': 'typ',
  'typ-entity-statement-as-metadata': 'typ',
  'typ-plain-jwt': 'typ',
  'typ-metadata-as-entity-statement': 'typ',
  'alg-none-lower': 'alg-allowlist',
  'alg-none-capitalized': 'alg-allowlist',
  'alg-none-upper': 'alg-allowlist',
  'alg-none-mixed': 'alg-allowlist',
  'alg-hs256-public-key': 'alg-allowlist',
  'alg-rs256': 'alg-allowlist',
  'header-injection-jku': 'key-supplying-header',
  'header-injection-x5u': 'key-supplying-header',
  'header-injection-jwk': 'key-supplying-header',
  'header-injection-x5c': 'key-supplying-header',
  'future-iat': 'iat-future',
  'oversized-token': 'max-size',
  'malformed-token': 'compact-shape',
  'non-canonical-base64url': 'compact-shape',
  'metadata-rollback': 'older-version',
  'metadata-same-version-other-content': 'same-version-other-content',
  'metadata-expired': 'expired',
  'metadata-wrong-cluster': 'cluster',
  'metadata-lifetime-exceeded': 'metadata-lifetime',
  'revoked-city': 'city-revoked',
  'revoked-city-node': 'city-revoked',
  'revoked-city-chain': 'city-revoked',
  'revoked-node': 'node-revoked',
  'revoked-key-chain': 'key-revoked',
  'not-a-member': 'city-not-member',
};

/** Builds every vector in memory; nothing is written. */
export async function buildVectors(keys: TestKeys): Promise<FederationVector[]> {
  const f = new Fixtures(keys);
  const now = f.now;
  const vectors: FederationVector[] = [];
  const add = (name: string, rule: string, description: string, input: VectorInput, expect: { code: ErrorCode } | ({ ok: true } & Record<string, unknown>)) => {
    if ('code' in expect) {
      const check = CHECKS[name];
      if (check === undefined) throw new Error(`vector ${name}: add the check it must fail to CHECKS`);
      vectors.push({ name, rule, description, now, input, expect: { ...expect, check } });
    } else {
      vectors.push({ name, rule, description, now, input, expect });
    }
  };
  const beijingEc = await signEntityStatement(f.cityConfiguration(BEIJING, 'beijing'), f.signer('beijing'));
  const anchorEc = await signEntityStatement(f.anchorConfiguration(), f.signer('anchorOld'));
  const statementAgainstPins = (jwt: string): VectorInput => ({ verify: 'entity-statement', jwt, keys: f.jwks('anchorOld'), fetchedFor: ANCHOR });
  const chainInput = (chain: string[], extra: Partial<Extract<VectorInput, { verify: 'trust-chain' }>> = {}): VectorInput => ({
    verify: 'trust-chain',
    chain,
    trustAnchors: f.pins,
    subjectEntityId: BEIJING,
    ...extra,
  });

  // ---- positive ----
  add(
    'valid-chain-3',
    'valid',
    "Beijing's configuration, the anchor's subordinate statement about Beijing, the anchor's configuration: verifies, and the anchor's metadata overrides Beijing's own CA list.",
    chainInput(await f.beijingChain()),
    { ok: true, leaf: BEIJING, anchor: ANCHOR, exp: now + 3_600, entityTypes: ['citymesh_node'], removedEntityTypes: [] },
  );
  add(
    'valid-chain-4-intermediate',
    'valid',
    'Binhai under Tianjin (EdDSA key) under the anchor: one intermediate, within the default cap of 1; federation_entity is always allowed.',
    chainInput(await f.binhaiChain(), { subjectEntityId: BINHAI }),
    { ok: true, leaf: BINHAI, anchor: ANCHOR, entityTypes: ['federation_entity'], removedEntityTypes: [] },
  );
  add(
    'valid-anchor-only-chain',
    'valid',
    'A chain of one statement is the anchor itself, verified with its pinned keys.',
    chainInput([anchorEc], { subjectEntityId: ANCHOR }),
    { ok: true, leaf: ANCHOR, anchor: ANCHOR },
  );
  add(
    'valid-entity-configuration',
    'valid',
    "The anchor's configuration fetched from its own URL verifies against the pinned keys.",
    statementAgainstPins(anchorEc),
    { ok: true, iss: ANCHOR, sub: ANCHOR, entityConfiguration: true },
  );
  const v5Claims = f.clusterClaims(5);
  const v5 = await f.metadata(v5Claims);
  add('valid-metadata', 'valid', 'Cluster metadata v5 signed by the pinned anchor key.', { verify: 'cluster-metadata', ...f.metadataInput(v5) }, {
    ok: true,
    version: 5,
    digest: sha256Canonical(v5Claims),
    members: ['beijing', 'tianjin'],
  });
  add(
    'valid-metadata-same-version-refetched',
    'valid',
    'The accepted version fetched again (same content, new signature) is not a rollback.',
    { verify: 'cluster-metadata', ...f.metadataInput(await f.metadata(v5Claims), { minVersion: 5, acceptedDigest: sha256Canonical(v5Claims) }) },
    { ok: true, version: 5 },
  );

  // ---- subject / spoofing ----
  const rogueAnchor = await signEntityStatement(
    { ...f.anchorConfiguration({ iss: OUTSIDER, sub: OUTSIDER, jwks: f.jwks('rogue') }) },
    f.signer('rogue'),
  );
  add(
    'spoofed-anchor-configuration',
    'statement-subject',
    "A configuration fetched from the anchor's /.well-known/openid-federation whose sub is another entity (self-signed, so its signature is fine).",
    { verify: 'entity-statement', jwt: rogueAnchor, fetchedFor: ANCHOR },
    { code: 'STATEMENT_SUBJECT_MISMATCH' },
  );
  add(
    'chain-subject-mismatch',
    'statement-subject',
    "A valid chain for Beijing presented as Tianjin's.",
    chainInput(await f.beijingChain(), { subjectEntityId: TIANJIN }),
    { code: 'STATEMENT_SUBJECT_MISMATCH' },
  );
  const rogueChainAnchor = await signEntityStatement(f.anchorConfiguration({ jwks: f.jwks('rogue') }), f.signer('rogue'));
  const rogueLink = await signEntityStatement(f.subordinate(ANCHOR, BEIJING, 'beijing'), f.signer('rogue'));
  add(
    'chain-anchor-not-pinned',
    'wrong-key',
    "A chain ending in a configuration that claims to be the anchor, self-signed by a key that is not pinned (it carries that key in its own jwks).",
    chainInput(await f.beijingChain({ link: rogueLink, anchor: rogueChainAnchor })),
    { code: 'TRUST_CHAIN_INVALID' },
  );

  // ---- keys ----
  add(
    'wrong-key-claims-pinned-kid',
    'wrong-key',
    "Signed by an unpinned key, with a header kid naming the pinned anchor key.",
    statementAgainstPins(await f.raw(f.anchorConfiguration(), 'rogue', { kid: keys.anchorOld.kid })),
    { code: 'TOKEN_SIGNATURE_INVALID' },
  );
  add(
    'wrong-key-metadata',
    'wrong-key',
    'Cluster metadata signed by a key the verifier does not pin.',
    { verify: 'cluster-metadata', ...f.metadataInput(await f.metadata(f.clusterClaims(6), 'rogue')) },
    { code: 'TOKEN_KEY_UNKNOWN' },
  );
  add(
    'unknown-kid',
    'unknown-kid',
    'Signed by the pinned key, but the header names a kid no trusted key has.',
    statementAgainstPins(await f.raw(f.anchorConfiguration(), 'anchorOld', { kid: 'no-such-kid' })),
    { code: 'TOKEN_KEY_UNKNOWN' },
  );
  const otherKeyEc = await f.raw(f.cityConfiguration(BEIJING, 'rogue'), 'beijing');
  add(
    'leaf-not-self-signed',
    'self-signed',
    "Beijing's configuration is signed by the key the anchor vouches for, but its own jwks carries another key.",
    chainInput(await f.beijingChain({ leaf: otherKeyEc })),
    { code: 'TOKEN_KEY_UNKNOWN' },
  );

  // ---- chain structure ----
  const expiredLink = await signEntityStatement(
    f.subordinate(ANCHOR, BEIJING, 'beijing', { iat: now - 7_200, exp: now - 3_600 }),
    f.signer('anchorOld'),
  );
  add(
    'expired-link',
    'expired-link',
    "The anchor's subordinate statement about Beijing expired an hour ago; the rest of the chain is valid.",
    chainInput(await f.beijingChain({ link: expiredLink })),
    { code: 'TOKEN_EXPIRED' },
  );
  const binhaiEc = await signEntityStatement(f.cityConfiguration(BINHAI, 'binhai', { authority_hints: [TIANJIN] }), f.signer('binhai'));
  const tianjinAboutBinhai = await signEntityStatement(f.subordinate(TIANJIN, BINHAI, 'binhai'), f.signer('tianjin'));
  const anchorAboutBeijingWithTianjinKey = await signEntityStatement(f.subordinate(ANCHOR, BEIJING, 'tianjin'), f.signer('anchorOld'));
  add(
    'chain-broken-linkage',
    'linkage',
    "Tianjin's statement about Binhai verifies with keys the anchor lists for Beijing, but its issuer is not Beijing: iss must be the next statement's sub.",
    chainInput([binhaiEc, tianjinAboutBinhai, anchorAboutBeijingWithTianjinKey, anchorEc], { subjectEntityId: BINHAI }),
    { code: 'TRUST_CHAIN_INVALID' },
  );
  const portChain = [
    await signEntityStatement(f.cityConfiguration(PORT, 'port', { authority_hints: [BINHAI] }), f.signer('port')),
    await signEntityStatement(f.subordinate(BINHAI, PORT, 'port'), f.signer('binhai')),
    ...(await f.binhaiChain()).slice(1),
  ];
  add(
    'chain-too-long',
    'chain-too-long',
    'Two intermediates (Binhai, Tianjin) where at most one is allowed: refused before any signature is checked.',
    chainInput(portChain, { subjectEntityId: PORT }),
    { code: 'TRUST_CHAIN_TOO_LONG' },
  );
  const manyHints = await signEntityStatement(
    f.cityConfiguration(BEIJING, 'beijing', {
      authority_hints: [ANCHOR, 'https://a.example', 'https://b.example', 'https://c.example', 'https://d.example'],
    }),
    f.signer('beijing'),
  );
  add(
    'too-many-authority-hints',
    'chain-too-long',
    'Beijing lists five authority hints; at most four are followed.',
    chainInput(await f.beijingChain({ leaf: manyHints })),
    { code: 'TRUST_CHAIN_TOO_LONG' },
  );
  add(
    'max-path-length-constraint',
    'constraints',
    "The anchor's statement about Tianjin allows no intermediate below it (max_path_length 0), but Tianjin is one for Binhai.",
    chainInput(await f.binhaiChain({ constraints: { max_path_length: 0 } }), { subjectEntityId: BINHAI }),
    { code: 'TRUST_CONSTRAINT_VIOLATED' },
  );
  const outsiderChain = [
    await signEntityStatement(
      f.cityConfiguration(OUTSIDER, 'beijing', { metadata: { citymesh_node: f.nodeMetadata('beijing') } }),
      f.signer('beijing'),
    ),
    await signEntityStatement(f.subordinate(ANCHOR, OUTSIDER, 'beijing'), f.signer('anchorOld')),
    anchorEc,
  ];
  add(
    'naming-constraint-violated',
    'constraints',
    "The anchor permits only hosts under .jjj.citymesh.example; the subject's entity id is https://beijing-jjj.example.org.",
    chainInput(outsiderChain, { subjectEntityId: OUTSIDER }),
    { code: 'TRUST_CONSTRAINT_VIOLATED' },
  );
  const excludedLink = await signEntityStatement(
    f.subordinate(ANCHOR, BEIJING, 'beijing', {
      constraints: { naming_constraints: { permitted: ['.jjj.citymesh.example'], excluded: ['beijing.jjj.citymesh.example'] } },
    }),
    f.signer('anchorOld'),
  );
  add(
    'naming-constraint-excluded',
    'constraints',
    'The host is permitted by .jjj.citymesh.example but excluded by name: excluded wins.',
    chainInput(await f.beijingChain({ link: excludedLink })),
    { code: 'TRUST_CONSTRAINT_VIOLATED' },
  );
  const wrongDomainLink = await signEntityStatement(
    f.subordinate(ANCHOR, BEIJING, 'beijing', { metadata: { citymesh_node: f.identity('beijing', { trust_domain: 'tianjin.jjj.citymesh' }) } }),
    f.signer('anchorOld'),
  );
  add(
    'citymesh-trust-domain-mismatch',
    'citymesh-node',
    "The anchor's statement gives Beijing Tianjin's trust domain: a city's trust domain must be <city>.<cluster>.citymesh.",
    chainInput(await f.beijingChain({ link: wrongDomainLink })),
    { code: 'TOKEN_MALFORMED' },
  );
  const unvouchedLink = await signEntityStatement(
    f.subordinate(ANCHOR, BEIJING, 'beijing', { metadata: { citymesh_node: { ca_certificates: [TEST_PEM] } } }),
    f.signer('anchorOld'),
  );
  add(
    'citymesh-identity-not-vouched',
    'citymesh-node',
    "Beijing's configuration says it is city beijing, but the anchor's statement about it does not vouch for that identity.",
    chainInput(await f.beijingChain({ link: unvouchedLink })),
    { code: 'TRUST_CONSTRAINT_VIOLATED' },
  );

  // ---- crit and metadata_policy ----
  add(
    'crit-header-unknown',
    'crit',
    'The JWS header marks an extension this verifier does not understand as critical.',
    statementAgainstPins(await f.raw(f.anchorConfiguration(), 'anchorOld', { crit: ['urn:citymesh:test:unknown'], 'urn:citymesh:test:unknown': true }, { 'urn:citymesh:test:unknown': true })),
    { code: 'TOKEN_CRIT_UNSUPPORTED' },
  );
  add(
    'crit-claim-unknown',
    'crit',
    'The statement lists an extension claim in crit (OpenID Federation 1.0) that this verifier does not understand.',
    statementAgainstPins(
      await signEntityStatement(f.anchorConfiguration({ crit: ['citymesh_test_extension'], citymesh_test_extension: { any: 1 } }), f.signer('anchorOld')),
    ),
    { code: 'TOKEN_CRIT_UNSUPPORTED' },
  );
  const policyLink = await signEntityStatement(
    f.subordinate(ANCHOR, BEIJING, 'beijing', { metadata_policy: { citymesh_node: { grpc_endpoint: { value: 'evil.example.org:1' } } } }),
    f.signer('anchorOld'),
  );
  add(
    'metadata-policy-unsupported',
    'metadata-policy',
    'A subordinate statement carries metadata_policy, which citymesh does not apply: refused rather than ignored.',
    chainInput(await f.beijingChain({ link: policyLink })),
    { code: 'TOKEN_CRIT_UNSUPPORTED' },
  );

  // ---- typ ----
  const accessToken = await f.raw(
    { iss: BEIJING, sub: 'user-1', aud: 'https://tianjin.jjj.citymesh.example', client_id: 'app', iat: now - 10, exp: now + 300, jti: 'at-1' },
    'anchorOld',
    { typ: 'at+jwt' },
  );
  add(
    'typ-access-token-as-entity-statement',
    'typ-confusion',
    'An RFC 9068 access token (typ at+jwt), validly signed by a trusted key, presented as an entity statement.',
    statementAgainstPins(accessToken),
    { code: 'TOKEN_TYPE_MISMATCH' },
  );
  add(
    'typ-entity-statement-as-metadata',
    'typ-confusion',
    "The anchor's entity configuration, signed by the pinned key, presented as cluster metadata.",
    { verify: 'cluster-metadata', ...f.metadataInput(anchorEc) },
    { code: 'TOKEN_TYPE_MISMATCH' },
  );
  add(
    'typ-plain-jwt',
    'typ-confusion',
    'An entity configuration with the generic typ JWT.',
    statementAgainstPins(await f.raw(f.anchorConfiguration(), 'anchorOld', { typ: 'JWT' })),
    { code: 'TOKEN_TYPE_MISMATCH' },
  );
  add(
    'typ-metadata-as-entity-statement',
    'typ-confusion',
    'Cluster metadata presented as an entity statement.',
    statementAgainstPins(v5),
    { code: 'TOKEN_TYPE_MISMATCH' },
  );

  // ---- alg ----
  for (const [name, alg] of [
    ['lower', 'none'],
    ['capitalized', 'None'],
    ['upper', 'NONE'],
    ['mixed', 'nOnE'],
  ] as const) {
    add(
      `alg-none-${name}`,
      'alg-none',
      `An unsigned entity configuration with alg "${alg}" and an empty signature.`,
      statementAgainstPins(unsigned({ alg, kid: keys.anchorOld.kid, typ: ENTITY_STATEMENT_TYP }, f.anchorConfiguration())),
      { code: 'TOKEN_ALG_NOT_ALLOWED' },
    );
  }
  const publicPem = createPublicKey({ key: keys.anchorOld.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hs256 = await new SignJWT(f.anchorConfiguration() as Record<string, unknown>)
    .setProtectedHeader({ alg: 'HS256', kid: keys.anchorOld.kid, typ: ENTITY_STATEMENT_TYP })
    .sign(new TextEncoder().encode(String(publicPem)));
  add(
    'alg-hs256-public-key',
    'alg-confusion',
    "HS256 with the pinned anchor key's public PEM as the HMAC secret (the classic key confusion attack).",
    statementAgainstPins(hs256),
    { code: 'TOKEN_ALG_NOT_ALLOWED' },
  );
  const rs256Header = { alg: 'RS256', kid: keys.anchorOld.kid, typ: ENTITY_STATEMENT_TYP };
  add(
    'alg-rs256',
    'alg-allowlist',
    'RS256 is not in the allowlist (ES256, EdDSA); refused before any key is looked at.',
    statementAgainstPins(`${b64json(rs256Header)}.${b64json(f.anchorConfiguration())}.${base64url.encode(new Uint8Array(256))}`),
    { code: 'TOKEN_ALG_NOT_ALLOWED' },
  );

  // ---- header injection ----
  const injected: Record<string, unknown> = {
    jku: 'https://evil.example.org/jwks.json',
    x5u: 'https://evil.example.org/cert.pem',
    jwk: keys.rogue.publicJwk,
    x5c: ['VEVTVC1PTkxZ'],
  };
  for (const [header, value] of Object.entries(injected)) {
    add(
      `header-injection-${header}`,
      'header-injection',
      `Signed by an unpinned key that the token supplies itself through the "${header}" header.`,
      statementAgainstPins(await f.raw(f.anchorConfiguration(), 'rogue', { [header]: value })),
      { code: 'TOKEN_HEADER_INJECTION' },
    );
  }

  // ---- time and size ----
  add(
    'future-iat',
    'not-yet-valid',
    'An entity configuration issued an hour in the future (leeway is 60 s).',
    statementAgainstPins(await signEntityStatement(f.anchorConfiguration({ iat: now + 3_600, exp: now + 90_000 }), f.signer('anchorOld'))),
    { code: 'TOKEN_NOT_YET_VALID' },
  );
  add(
    'oversized-token',
    'max-size',
    'A validly signed configuration of more than 64 KiB.',
    statementAgainstPins(
      await signEntityStatement(
        f.anchorConfiguration({ metadata: { federation_entity: { organization_name: 'x'.repeat(70 * 1024) } } }),
        f.signer('anchorOld'),
      ),
    ),
    { code: 'TOKEN_TOO_LARGE' },
  );
  add('malformed-token', 'compact-shape', 'Not a compact JWS.', statementAgainstPins('not-a-jwt'), { code: 'TOKEN_MALFORMED' });
  const [h, p, s] = anchorEc.split('.') as [string, string, string];
  // The last base64url character of a 64-byte signature carries 4 unused bits: setting one
  // keeps the decoded bytes, so only a canonical-encoding check catches the variant.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(s.at(-1)!);
  const malleable = `${h}.${p}.${s.slice(0, -1)}${alphabet[last ^ 1]}`;
  add(
    'non-canonical-base64url',
    'compact-shape',
    'A valid configuration whose signature segment has a stray trailing bit: same bytes, different string.',
    statementAgainstPins(malleable),
    { code: 'TOKEN_MALFORMED' },
  );

  // ---- cluster metadata ----
  const v4 = await f.metadata(f.clusterClaims(4));
  add(
    'metadata-rollback',
    'metadata-rollback',
    'Version 4, validly signed and unexpired, replayed to a verifier that accepted version 5.',
    { verify: 'cluster-metadata', ...f.metadataInput(v4, { minVersion: 5, acceptedDigest: sha256Canonical(v5Claims) }) },
    { code: 'METADATA_ROLLBACK' },
  );
  add(
    'metadata-same-version-other-content',
    'metadata-rollback',
    'Version 5 again, but with other members than the version 5 accepted.',
    {
      verify: 'cluster-metadata',
      ...f.metadataInput(await f.metadata(f.clusterClaims(5, { members: [f.member('beijing')] })), {
        minVersion: 5,
        acceptedDigest: sha256Canonical(v5Claims),
      }),
    },
    { code: 'METADATA_ROLLBACK' },
  );
  const expiredIat = now - 2 * 86_400;
  add(
    'metadata-expired',
    'metadata-expired',
    'Cluster metadata whose exp passed a day ago: the offline budget is spent.',
    { verify: 'cluster-metadata', ...f.metadataInput(await f.metadata(f.clusterClaims(5, { iat: expiredIat, exp: expiredIat + 86_400 }))) },
    { code: 'METADATA_EXPIRED' },
  );
  add(
    'metadata-wrong-cluster',
    'metadata-subject',
    'Metadata for the jjj cluster presented to a verifier of the prd cluster.',
    { verify: 'cluster-metadata', ...f.metadataInput(v5, { expectedCluster: 'prd' }) },
    { code: 'STATEMENT_SUBJECT_MISMATCH' },
  );
  const longLived = f.clusterClaims(5, { exp: now - 600 + 7 * 86_400 });
  add(
    'metadata-lifetime-exceeded',
    'metadata-lifetime',
    'Metadata living a week while the cluster parameter allows a day (signed outside the library, which refuses it).',
    { verify: 'cluster-metadata', ...f.metadataInput(await f.raw(longLived, 'anchorOld', { typ: CLUSTER_METADATA_TYP })) },
    { code: 'TOKEN_LIFETIME_EXCEEDED' },
  );

  // ---- revocation and membership ----
  const revokedAt = now - 300;
  const revoked = await f.metadata(
    f.clusterClaims(7, {
      revocations: [
        { kind: 'city', id: 'tianjin', reason: 'test: city left the cluster', revoked_at: revokedAt, version: 7 },
        { kind: 'node', id: 'spiffe://beijing.jjj.citymesh/node/node-2', reason: 'test: node compromised', revoked_at: revokedAt, version: 7 },
      ],
    }),
  );
  add(
    'revoked-city',
    'revoked-city',
    'Tianjin is on the revocation list of the current metadata.',
    { verify: 'revocation', metadata: f.metadataInput(revoked), query: { city: 'tianjin' } },
    { code: 'CITY_REVOKED' },
  );
  add(
    'revoked-city-node',
    'revoked-city',
    "A node of revoked Tianjin is refused as its city.",
    { verify: 'revocation', metadata: f.metadataInput(revoked), query: { nodeSpiffeId: 'spiffe://tianjin.jjj.citymesh/node/node-1' } },
    { code: 'CITY_REVOKED' },
  );
  const tianjinChain = [
    await signEntityStatement(f.cityConfiguration(TIANJIN, 'tianjin'), f.signer('tianjin')),
    await signEntityStatement(f.subordinate(ANCHOR, TIANJIN, 'tianjin'), f.signer('anchorOld')),
    anchorEc,
  ];
  add(
    'revoked-city-chain',
    'revoked-city',
    "Tianjin's otherwise valid trust chain, checked against metadata that revokes Tianjin.",
    chainInput(tianjinChain, { subjectEntityId: TIANJIN, clusterMetadata: f.metadataInput(revoked) }),
    { code: 'CITY_REVOKED' },
  );
  add(
    'revoked-node',
    'revoked-node',
    "Beijing's node-2 is on the revocation list.",
    { verify: 'revocation', metadata: f.metadataInput(revoked), query: { nodeSpiffeId: 'spiffe://beijing.jjj.citymesh/node/node-2' } },
    { code: 'NODE_REVOKED' },
  );
  const keyRevoked = await f.metadata(
    f.clusterClaims(8, {
      revocations: [{ kind: 'key', id: keys.beijing.kid, reason: 'test: key leaked', revoked_at: revokedAt, version: 8 }],
    }),
  );
  add(
    'revoked-key-chain',
    'revoked-key',
    "Beijing's chain is signed with a federation key the current metadata revokes.",
    chainInput(await f.beijingChain(), { clusterMetadata: f.metadataInput(keyRevoked) }),
    { code: 'KEY_REVOKED' },
  );
  add(
    'not-a-member',
    'membership',
    'Shanghai is not a member of the jjj cluster.',
    { verify: 'revocation', metadata: f.metadataInput(v5), member: 'shanghai' },
    { code: 'NOT_A_MEMBER' },
  );

  return vectors;
}

/** Writes every vector as `<name>.json` into `dir`, replacing the vector files there (not keys.json). */
export async function writeVectors(dir: string): Promise<FederationVector[]> {
  const keys = await loadOrCreateKeys(dir);
  const vectors = await buildVectors(keys);
  for (const file of await readdir(dir)) {
    if (file.endsWith('.json') && file !== 'keys.json') await rm(path.join(dir, file));
  }
  for (const vector of vectors) await writeFile(path.join(dir, `${vector.name}.json`), `${JSON.stringify(vector, null, 2)}\n`);
  return vectors;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = path.resolve(process.argv[2] ?? 'test/vectors/federation');
  const written = await writeVectors(dir);
  console.log(`wrote ${written.length} federation vectors to ${dir}`);
}
