import { join } from 'node:path';
import type { ManualClock } from '../../../common/clock.js';
import type { CatalogEntry } from '../../../common/stores/index.js';
import {
  type AppClients,
  addGrant,
  type CityGrant,
  connectApp,
  installExchangeServices,
  issueAppCredentials,
  joinCluster,
  type RunningNode,
  registerApp,
  startNode,
} from '../../../nodes/index.js';
import { cityEntityIdOf, startTestAnchor, TempDirs, type TestAnchor } from '../../support/anchor-harness.js';
import { freePort } from '../../support/cli-process.js';

export interface TestCity {
  readonly city: string;
  readonly dir: string;
  node: RunningNode;
}

/** An anchor and running city nodes, in this process, over real mTLS on loopback. */
export interface TestCluster {
  readonly anchor: TestAnchor;
  readonly cities: Record<string, TestCity>;
  readonly dirs: TempDirs;
  /** Registers an app of `city` and connects it to its home node. */
  app(
    city: string,
    clientId: string,
    attrs?: { industry?: string; roles?: string[] },
  ): Promise<AppClients & { dir: string }>;
  /** Adds a cross-city grant to `city`'s policy set and waits until its node follows it. */
  grant(city: string, grant: CityGrant): Promise<void>;
  restart(city: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `loopbackEntityIds`: each city's entity id is `https://localhost:<port>`, served by the
 * node's HTTPS listener (federation endpoints and its OpenID Provider); otherwise entity
 * ids are names nobody serves and the listener takes any free port.
 */
export async function startTestCluster(
  cities: readonly string[],
  options: { clock?: ManualClock; loopbackEntityIds?: boolean } = {},
): Promise<TestCluster> {
  const anchor = await startTestAnchor(options.clock ? { clock: options.clock } : {});
  const dirs = new TempDirs();
  const started: Record<string, TestCity> = {};
  const start = (dir: string) =>
    startNode({
      dir,
      clock: anchor.clock,
      install: installExchangeServices,
      refreshIntervalMs: 3_600_000,
      ...(options.loopbackEntityIds ? {} : { httpsPort: 0 }),
    });
  for (const city of cities) {
    const { token } = await anchor.anchor.invite(city);
    const dir = dirs.make(`citymesh-${city}-`);
    await joinCluster({
      dir,
      anchorUrl: anchor.server.url,
      token,
      nodeName: 'n1',
      entityId: options.loopbackEntityIds ? `https://localhost:${await freePort()}` : cityEntityIdOf(city),
      grpcEndpoint: `localhost:${await freePort()}`,
      clock: anchor.clock,
    });
    started[city] = { city, dir, node: undefined as unknown as RunningNode };
  }
  // Start after every city joined, so each node's first pull lists all members.
  for (const c of Object.values(started)) c.node = await start(c.dir);
  const apps: AppClients[] = [];
  return {
    anchor,
    cities: started,
    dirs,
    async app(city, clientId, attrs = {}) {
      const c = started[city]!;
      registerApp(
        c.dir,
        {
          clientId,
          org: 'traffic-bureau',
          industry: attrs.industry ?? 'transport',
          level: 'city',
          regionCode: '120000',
          roles: attrs.roles ?? [],
        },
        anchor.clock.now(),
      );
      const out = join(dirs.make('citymesh-app-'), 'creds');
      await issueAppCredentials({
        dir: c.dir,
        keys: c.node.context.stores.keys,
        clientId,
        lifetimeHours: 24,
        now: anchor.clock.now(),
        outDir: out,
      });
      const clients = connectApp(out);
      apps.push(clients);
      return { ...clients, dir: out };
    },
    async grant(city, grant) {
      const c = started[city]!;
      await addGrant(c.dir, c.node.context.stores, grant, { subject: 'test', now: anchor.clock.now() });
      await c.node.refreshPolicy();
    },
    async restart(city) {
      const c = started[city]!;
      await c.node.stop();
      c.node = await start(c.dir);
    },
    async stop() {
      for (const a of apps) a.close();
      for (const c of Object.values(started)) await c.node.stop();
      await anchor.stop();
      dirs.removeAll();
    },
  };
}

/** A catalog entry of `city` for tests; records are added separately. */
export function testEntry(city: string, name: string, overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id: `jjj/${city}/transport-bureau/${name}`,
    version: '1.0.0',
    kind: 'dataset',
    title: `${name} of ${city}`,
    description: `test dataset ${name}`,
    ownerOrg: 'transport-bureau',
    city,
    industry: 'transport',
    regionCode: '110000',
    level: 'province',
    classification: 'public',
    schema: { type: 'object' },
    license: 'CC-BY-4.0',
    requiresAgreement: false,
    publishedAt: new Date(),
    ...overrides,
  };
}

/** How a call ended: `OK`, or the reason code of its MeshError. */
export function outcomeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => 'OK',
    (e: { code?: string }) => e.code,
  );
}

export { freePort };
