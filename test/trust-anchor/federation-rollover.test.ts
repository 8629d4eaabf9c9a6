import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import {
  type ClusterMetadataClaims,
  type EntityStatementClaims,
  type FederationSigningKey,
  type JwkSet,
  nextPinnedAnchorKeys,
  type Revocation,
  signClusterMetadata,
  signEntityStatement,
  type VerifiedClusterMetadata,
  verifyClusterMetadata,
  verifyTrustChain,
} from '../../trust-anchor/federation/index.js';

const ANCHOR = 'https://anchor.jjj.citymesh.example';
const BEIJING = 'https://beijing.jjj.citymesh.example';
const PEM = '-----BEGIN CERTIFICATE-----\nVEVTVC1PTkxZ\n-----END CERTIFICATE-----\n';
const POLL_SECONDS = 30;

interface Key {
  signer: FederationSigningKey;
  jwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { signer: { kid, privateKey, alg: 'ES256' }, jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' } };
}

const jwks = (...keys: Key[]): JwkSet => ({ keys: keys.map((k) => k.jwk) });

/**
 * A trust anchor going through the two-stage rollover: what it publishes at each stage
 * (cluster metadata and its own entity configuration) and which key signs.
 */
class RollingAnchor {
  version = 0;
  metadata = '';
  configuration = '';
  aboutBeijing = '';

  constructor(
    readonly old: Key,
    readonly next: Key,
    readonly beijing: Key,
    readonly clock: ManualClock,
  ) {}

  async publish(signer: Key, announced: Key[], revocations: Revocation[] = []): Promise<void> {
    this.version += 1;
    const now = this.clock.nowSeconds();
    const claims: ClusterMetadataClaims = {
      iss: ANCHOR,
      sub: ANCHOR,
      cluster: 'jjj',
      version: this.version,
      iat: now,
      exp: now + 86_400,
      anchor_keys: jwks(...announced),
      members: [
        {
          city: 'beijing',
          entity_id: BEIJING,
          region_code: '110000',
          trust_domain: 'beijing.jjj.citymesh',
          federation_jwks: jwks(this.beijing),
          ca_certificates: [PEM],
          nodes: [],
        },
      ],
      parameters: { metadata_lifetime_seconds: 86_400, certificate_lifetime_hours: 24 },
      revocations,
    };
    this.metadata = await signClusterMetadata(claims, signer.signer);
    const configuration: EntityStatementClaims = {
      iss: ANCHOR,
      sub: ANCHOR,
      iat: now,
      exp: now + 86_400,
      jwks: jwks(...announced),
    };
    this.configuration = await signEntityStatement(configuration, signer.signer);
    this.aboutBeijing = await signEntityStatement(
      { iss: ANCHOR, sub: BEIJING, iat: now, exp: now + 3_600, jwks: jwks(this.beijing) },
      signer.signer,
    );
  }

  /** Stage 1: the old key signs metadata announcing both keys. */
  stagePublish = () => this.publish(this.old, [this.old, this.next]);
  /** Stage 2: the next key signs; both stay announced. */
  stageActivate = () => this.publish(this.next, [this.next, this.old]);
  /** After the overlap: the old key is revoked. */
  stageRetire = () =>
    this.publish(
      this.next,
      [this.next],
      [
        {
          kind: 'key',
          id: this.old.signer.kid,
          reason: 'rotated out',
          revoked_at: this.clock.nowSeconds(),
          version: this.version + 1,
        },
      ],
    );
}

/** A node that polls the anchor: verifies metadata with its pins, follows the rollover rule, verifies a chain. */
class PollingVerifier {
  accepted: VerifiedClusterMetadata | undefined;
  failures: MeshError[] = [];

  constructor(
    public pins: JwkSet,
    readonly clock: ManualClock,
  ) {}

  async poll(anchor: RollingAnchor, beijingConfiguration: string): Promise<void> {
    const now = this.clock.nowSeconds();
    try {
      const verified = await verifyClusterMetadata(anchor.metadata, {
        anchorKeys: this.pins,
        now,
        expectedCluster: 'jjj',
        expectedIssuer: ANCHOR,
        ...(this.accepted === undefined
          ? {}
          : { minVersion: this.accepted.version, acceptedDigest: this.accepted.digest }),
      });
      this.pins = nextPinnedAnchorKeys(this.pins, verified);
      this.accepted = verified;
      await verifyTrustChain([beijingConfiguration, anchor.aboutBeijing, anchor.configuration], {
        trustAnchors: [{ entityId: ANCHOR, jwks: this.pins }],
        now,
        subjectEntityId: BEIJING,
        clusterMetadata: verified.metadata,
      });
    } catch (err) {
      if (!isMeshError(err)) throw err;
      this.failures.push(err);
    }
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(MeshError);
    return (err as MeshError).code;
  }
  throw new Error('expected a MeshError');
}

describe('two-stage anchor key rollover', () => {
  let old: Key;
  let next: Key;
  let beijing: Key;
  let beijingConfiguration: (now: number) => Promise<string>;

  beforeAll(async () => {
    [old, next, beijing] = await Promise.all([newKey(), newKey(), newKey()]);
    beijingConfiguration = (now) =>
      signEntityStatement(
        { iss: BEIJING, sub: BEIJING, iat: now, exp: now + 86_400, jwks: jwks(beijing), authority_hints: [ANCHOR] },
        beijing.signer,
      );
  });

  it('a verifier polling continuously through publish, activate and retire sees no failure', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const anchor = new RollingAnchor(old, next, beijing, clock);
    await anchor.publish(old, [old]);
    const verifier = new PollingVerifier(jwks(old), clock);
    const leaf = await beijingConfiguration(clock.nowSeconds());
    const schedule: [number, () => Promise<void>][] = [
      [600, anchor.stagePublish],
      [1_800, anchor.stageActivate],
      [3_000, anchor.stageRetire],
    ];
    const seen = new Set<string>();
    for (let t = 0; t <= 3_600; t += POLL_SECONDS) {
      for (const [at, stage] of schedule) if (t === at) await stage();
      await verifier.poll(anchor, leaf);
      seen.add(
        verifier.pins.keys
          .map((k) => k.kid)
          .sort()
          .join(','),
      );
      clock.advanceSeconds(POLL_SECONDS);
    }
    expect(verifier.failures.map((f) => `${f.code}: ${f.message}`)).toEqual([]);
    expect(verifier.accepted?.version).toBe(4);
    // Pins went {old} → {old, next} → {next}.
    expect(seen).toEqual(
      new Set([old.signer.kid, [old.signer.kid, next.signer.kid].sort().join(','), next.signer.kid]),
    );
    expect(verifier.pins.keys.map((k) => k.kid)).toEqual([next.signer.kid]);
    expect(verifier.pins.keys.every((k) => !('d' in k))).toBe(true);
  });

  it('after the old key is revoked, what it signs is refused with TOKEN_KEY_UNKNOWN (it is no longer pinned)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const anchor = new RollingAnchor(old, next, beijing, clock);
    const verifier = new PollingVerifier(jwks(old), clock);
    const leaf = await beijingConfiguration(clock.nowSeconds());
    for (const stage of [
      () => anchor.publish(old, [old]),
      anchor.stagePublish,
      anchor.stageActivate,
      anchor.stageRetire,
    ]) {
      await stage();
      await verifier.poll(anchor, leaf);
      clock.advanceSeconds(POLL_SECONDS);
    }
    expect(verifier.failures).toEqual([]);
    const now = clock.nowSeconds();

    // Whoever still holds the old key signs a newer metadata version.
    const forger = new RollingAnchor(old, next, beijing, clock);
    forger.version = 10;
    await forger.publish(old, [old]);
    expect(
      await codeOf(verifyClusterMetadata(forger.metadata, { anchorKeys: verifier.pins, now, expectedCluster: 'jjj' })),
    ).toBe('TOKEN_KEY_UNKNOWN');
    // ... or an anchor configuration: the chain no longer reaches a pinned key.
    const chain = [leaf, forger.aboutBeijing, forger.configuration];
    const options = { trustAnchors: [{ entityId: ANCHOR, jwks: verifier.pins }], now, subjectEntityId: BEIJING };
    expect(await codeOf(verifyTrustChain(chain, options))).toBe('TRUST_CHAIN_INVALID');
    // ... or only the subordinate statement, under the genuine configuration signed by the next key.
    expect(await codeOf(verifyTrustChain([leaf, forger.aboutBeijing, anchor.configuration], options))).toBe(
      'TOKEN_KEY_UNKNOWN',
    );
  });

  it('a verifier with stale pins still refuses the revoked key once it has the revoking metadata (KEY_REVOKED)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const anchor = new RollingAnchor(old, next, beijing, clock);
    await anchor.stagePublish();
    // Replayed publish-stage material: signed by the old key, announcing both keys.
    const replayed = { configuration: anchor.configuration, aboutBeijing: anchor.aboutBeijing };
    await anchor.stageActivate();
    await anchor.stageRetire();
    const now = clock.nowSeconds();
    const stalePins = jwks(old, next);
    const current = await verifyClusterMetadata(anchor.metadata, {
      anchorKeys: stalePins,
      now,
      expectedCluster: 'jjj',
    });
    const leaf = await beijingConfiguration(now);
    const code = await codeOf(
      verifyTrustChain([leaf, replayed.aboutBeijing, replayed.configuration], {
        trustAnchors: [{ entityId: ANCHOR, jwks: stalePins }],
        now,
        subjectEntityId: BEIJING,
        clusterMetadata: current.metadata,
      }),
    );
    expect(code).toBe('KEY_REVOKED');
  });

  it('a verifier that missed the publish stage cannot follow the switch and must re-bootstrap its pins', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const anchor = new RollingAnchor(old, next, beijing, clock);
    await anchor.publish(old, [old]);
    const verifier = new PollingVerifier(jwks(old), clock);
    const leaf = await beijingConfiguration(clock.nowSeconds());
    await verifier.poll(anchor, leaf);
    await anchor.stagePublish(); // never polled
    await anchor.stageActivate();
    await verifier.poll(anchor, leaf);
    expect(verifier.failures.map((f) => f.code)).toEqual(['TOKEN_KEY_UNKNOWN']);
  });

  it('pins follow only verified metadata signed by a pinned key', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const anchor = new RollingAnchor(old, next, beijing, clock);
    await anchor.stagePublish();
    const verified = await verifyClusterMetadata(anchor.metadata, {
      anchorKeys: jwks(old),
      now: clock.now(),
      expectedCluster: 'jjj',
    });
    expect(() => nextPinnedAnchorKeys(jwks(old), { ...verified })).toThrow(TypeError);
    expect(() => nextPinnedAnchorKeys(jwks(next), verified)).toThrow(
      expect.objectContaining({ code: 'TOKEN_KEY_UNKNOWN' }),
    );
    expect(nextPinnedAnchorKeys(jwks(old), verified).keys.map((k) => k.kid)).toEqual([old.signer.kid, next.signer.kid]);
    // A pin for the next kid with other key material: the announcement conflicts with it.
    const conflicting = { keys: [old.jwk, { ...beijing.jwk, kid: next.signer.kid }] };
    expect(() => nextPinnedAnchorKeys(conflicting, verified)).toThrow(
      expect.objectContaining({ code: 'TRUST_CHAIN_INVALID' }),
    );
  });
});
