import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGossipKey } from '../../../common/gossip/index.js';
import { type AppClients, connectApp, nodePath, unaryCall } from '../../../nodes/index.js';
import type { GetNodeStatusResponse } from '../../../proto/gen/citymesh/v1/node_service.js';
import { runCliSession } from '../../../simulations/processes.js';
import { writeSampleCatalog } from '../../../simulations/samples/index.js';
import { waitUntil } from '../../common/gossip/wait.js';
import { citymesh, freePort, requireBuiltCli, startCitymesh, stop } from '../../support/cli-process.js';

const CITIES = [
  ['beijing', '110000'],
  ['tianjin', '120000'],
  ['shijiazhuang', '130100'],
] as const;

/**
 * The anchor and three nodes as separate processes of the real CLI, gossiping over
 * loopback; nodes pull metadata only once an hour, so whatever reaches them sooner came
 * by gossip.
 */
describe('gossip between an anchor process and node processes', () => {
  const work = mkdtempSync(join(tmpdir(), 'citymesh-gossip-cli-'));
  const children: ChildProcess[] = [];
  const apps: Record<string, AppClients> = {};

  const run = async (args: string[]) => {
    const r = await citymesh(args, work);
    expect(r.code, `citymesh ${args.slice(0, 2).join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const status = (city: string) => unaryCall<GetNodeStatusResponse>((cb) => apps[city]!.node.getNodeStatus({}, cb));

  beforeAll(async () => {
    requireBuiltCli();
    const anchorPort = await freePort();
    await run(['anchor', 'init', '--cluster', 'jjj', '--dir', 'anchor', '--port', String(anchorPort)]);
    const anchor = await startCitymesh(['anchor', 'serve', '--dir', 'anchor'], work, /serving at (https:\/\/\S+)/);
    children.push(anchor.child);
    // Commands run in two sessions (one process each): a process start costs seconds here.
    const invites = await runCliSession(
      CITIES.map(([city]) => ['anchor', 'invite', '--dir', 'anchor', '--city', city]),
      work,
    );
    const joins: string[][] = [];
    for (const [i, [city, region]] of CITIES.entries()) {
      const port = await freePort();
      const token = invites[i]!.out.trim().split('\n').at(-1)!;
      joins.push(
        [
          'node',
          'join',
          '--dir',
          city,
          '--anchor',
          anchor.match[1]!,
          '--token',
          token,
          '--endpoint',
          `localhost:${port}`,
          '--entity-id',
          `https://localhost:${port + 1}`,
        ],
        [
          'apps',
          'add',
          '--dir',
          city,
          '--id',
          'monitor',
          '--org',
          'it-office',
          '--industry',
          'transport',
          '--region',
          region,
          '--out',
          `${city}-monitor`,
        ],
      );
    }
    await runCliSession(joins, work);
    // Started after every join, so each node's first pull lists all members.
    for (const [city] of CITIES) {
      const node = await startCitymesh(
        ['node', 'serve', '--dir', city, '--refresh-interval', '3600'],
        work,
        /gossip peer (\S+)/,
      );
      children.push(node.child);
      apps[city] = connectApp(join(work, `${city}-monitor`));
    }
  }, 180_000);

  afterAll(async () => {
    for (const a of Object.values(apps)) a.close();
    for (const child of children.reverse()) await stop(child);
    rmSync(work, { recursive: true, force: true });
  });

  it('connects every node to the anchor and the other nodes, under the peer ids metadata binds', async () => {
    for (const [city] of CITIES) {
      const expected = readGossipKey(nodePath(join(work, city), 'gossipKey')).peerId;
      await waitUntil(
        async () => (await status(city)).gossipConnectedPeers === CITIES.length,
        `${city} connected`,
        20_000,
      );
      const seen = await status(city);
      expect(seen).toMatchObject({ gossipPeerId: expected, catalogNotices: 0 });
      // Held since the join wrote it (`cache`), or pulled at start when a later join added a member.
      expect(['cache', 'anchor']).toContain(seen.metadataSource);
      expect(seen.metadataAcceptedAt).toBeInstanceOf(Date);
    }
  });

  it('brings a revocation made with `anchor revoke` to every other node within 2 s, by gossip', async () => {
    const before = (await status('beijing')).metadataVersion;
    await run(['anchor', 'revoke', 'city', 'shijiazhuang', '--dir', 'anchor', '--reason', 'gossip integration test']);
    const revokedAt = Date.now();
    const reached: Record<string, number> = {};
    while (Object.keys(reached).length < 2 && Date.now() - revokedAt < 10_000) {
      for (const city of ['beijing', 'tianjin']) {
        if (reached[city] === undefined && (await status(city)).metadataVersion > before)
          reached[city] = Date.now() - revokedAt;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(Object.keys(reached).sort()).toEqual(['beijing', 'tianjin']);
    for (const city of ['beijing', 'tianjin']) {
      expect(reached[city]).toBeLessThan(2_000);
      expect(await status(city)).toMatchObject({ metadataVersion: before + 1, metadataSource: 'gossip' });
      // The anchor and the other unrevoked node remain; the revoked city is hung up.
      await waitUntil(async () => (await status(city)).gossipConnectedPeers === 2, `${city} dropping shijiazhuang`);
    }
  });

  it('announces a `catalog publish` run in another process to the other nodes', async () => {
    const before = (await status('tianjin')).catalogNotices;
    const files = writeSampleCatalog(join(work, 'samples-beijing'), 'jjj', 'beijing');
    await run(['catalog', 'publish', files.manifest, '--dir', 'beijing']);
    await waitUntil(async () => (await status('tianjin')).catalogNotices > before, 'the catalog notice at tianjin');
    expect((await status('tianjin')).catalogNotices).toBe(before + 1);
  });
});
