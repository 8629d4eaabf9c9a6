import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { ManualClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import type { Stores } from '../../common/stores/index.js';
import type { NodeIdentity } from '../../nodes/index.js';
import { joinCluster } from '../../nodes/index.js';
import { openMemoryStores } from '../../stores/index.js';
import {
  type AnchorServer,
  type ClusterMetadataClaims,
  startAnchorServer,
  TrustAnchor,
  type TrustAnchorSettings,
} from '../../trust-anchor/index.js';

/** The anchor's federation entity id in these tests (its endpoints are served on localhost). */
export const ANCHOR_ENTITY_ID = 'https://anchor.jjj.citymesh.example';

/** Short, test-friendly cluster parameters. */
export const TEST_SETTINGS: TrustAnchorSettings = Object.freeze({
  metadataLifetimeSeconds: 3600,
  certificateLifetimeHours: 24,
  cityCaLifetimeHours: 7 * 24,
  joinTokenLifetimeSeconds: 600,
});

/** The federation entity id a test city uses. */
export const cityEntityIdOf = (city: string): string => `https://${city}.jjj.citymesh.example`;

/**
 * A ManualClock starting at the wall clock (whole seconds). TLS handshakes check the
 * anchor's certificate against the real time, so the frozen clock must start near it.
 */
export function wallStartedClock(): ManualClock {
  return new ManualClock(Math.floor(Date.now() / 1000) * 1000);
}

/** A running anchor on memory stores, served over real HTTPS on an ephemeral port. */
export interface TestAnchor {
  readonly anchor: TrustAnchor;
  readonly stores: Stores;
  readonly clock: ManualClock;
  server: AnchorServer;
  /** Root CA (PEM): what a client pins. */
  readonly rootPem: string;
  /** Stops the HTTPS server (idempotent). */
  stop(): Promise<void>;
  /** Starts the server again on the same port. */
  restart(): Promise<void>;
}

/** Initializes a `jjj` anchor and serves it on 127.0.0.1:0. */
export async function startTestAnchor(
  options: { clock?: ManualClock; settings?: TrustAnchorSettings } = {},
): Promise<TestAnchor> {
  const clock = options.clock ?? wallStartedClock();
  const stores = openMemoryStores();
  const anchor = await TrustAnchor.initialize({ stores, clock }, options.settings ?? TEST_SETTINGS, {
    cluster: 'jjj',
    entityId: ANCHOR_ENTITY_ID,
  });
  let running = true;
  const harness: TestAnchor = {
    anchor,
    stores,
    clock,
    rootPem: anchor.trustBundlePem,
    server: await startAnchorServer({ anchor, host: '127.0.0.1', port: 0 }),
    async stop() {
      if (!running) return;
      running = false;
      await harness.server.close();
    },
    async restart() {
      if (running) return;
      harness.server = await startAnchorServer({ anchor, host: '127.0.0.1', port: harness.server.port });
      running = true;
    },
  };
  return harness;
}

/** Temporary folders removed by {@link TempDirs.removeAll}. */
export class TempDirs {
  readonly #dirs: string[] = [];

  make(prefix = 'citymesh-node-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Invites `city` and joins one node of it with the real `joinCluster` over HTTPS. */
export async function joinCity(
  t: TestAnchor,
  dirs: TempDirs,
  city: string,
  nodeName = 'n1',
): Promise<{ dir: string; identity: NodeIdentity }> {
  const { token } = await t.anchor.invite(city);
  const dir = dirs.make(`citymesh-${city}-`);
  return { dir, identity: await joinWithToken(t, token, city, { dir, nodeName }) };
}

/** Runs the real `joinCluster` against `t` with a given (possibly tampered) token, as `city`'s node. */
export function joinWithToken(
  t: Pick<TestAnchor, 'server' | 'clock'>,
  token: string,
  city: string,
  options: { dir: string; nodeName?: string },
): Promise<NodeIdentity> {
  return joinCluster({
    dir: options.dir,
    anchorUrl: t.server.url,
    token,
    nodeName: options.nodeName ?? 'n1',
    entityId: cityEntityIdOf(city),
    grpcEndpoint: `${city}.example:7443`,
    clock: t.clock,
  });
}

/** Claims of the anchor's latest metadata, unverified (the anchor is the party under test). */
export async function latestClaims(t: TestAnchor): Promise<ClusterMetadataClaims> {
  const latest = await t.stores.anchor.latestMetadata();
  if (latest === undefined) throw new Error('the anchor has no metadata');
  return decodeJwt(latest.jwt) as unknown as ClusterMetadataClaims;
}

/** The anchor's latest metadata version number. */
export async function latestVersion(t: TestAnchor): Promise<number> {
  return (await t.stores.anchor.latestMetadata())?.version ?? 0;
}

/** A raw HTTPS exchange with the anchor, pinning its root. */
export function httpsCall(
  t: TestAnchor,
  path: string,
  options: { method?: 'GET' | 'POST'; body?: string | Buffer; contentType?: string } = {},
): Promise<{ status: number; body: string; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, t.server.url),
      {
        method: options.method ?? 'GET',
        ca: t.rootPem,
        headers:
          options.body === undefined
            ? {}
            : {
                'content-type': options.contentType ?? 'application/json',
                'content-length': Buffer.byteLength(options.body),
              },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: res.headers['content-type'],
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Awaits `work` and returns the MeshError it rejects with, failing when it resolves or
 * rejects with anything else. Lets a test assert on `code` and `details` together.
 */
export async function meshErrorOf(work: Promise<unknown> | (() => unknown)): Promise<MeshError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    if (err instanceof MeshError) return err;
    throw new Error(`expected a MeshError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a MeshError, but the call succeeded');
}

/** Shorthand: the code a call fails with. */
export async function codeOf(work: Promise<unknown> | (() => unknown)): Promise<ErrorCode> {
  return (await meshErrorOf(work)).code;
}
