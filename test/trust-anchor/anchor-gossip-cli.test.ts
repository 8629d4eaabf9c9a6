import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readGossipKey } from '../../common/gossip/key.js';
import { nodePath } from '../../nodes/index.js';
import { openSqliteStores } from '../../stores/index.js';
import type { ClusterMetadataClaims } from '../../trust-anchor/index.js';
import { latestClaims, startTestAnchor, TempDirs, type TestAnchor } from '../support/anchor-harness.js';
import { cli } from '../support/cli-in-process.js';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

/** Claims of every metadata version an anchor folder holds, oldest first. */
async function storedClaims(dir: string): Promise<ClusterMetadataClaims[]> {
  const stores = openSqliteStores(join(dir, 'anchor.db'));
  try {
    const latest = (await stores.anchor.latestMetadata())?.version ?? 0;
    const all: ClusterMetadataClaims[] = [];
    for (let v = 1; v <= latest; v++) {
      all.push(decodeJwt((await stores.anchor.getMetadata(v))!.jwt) as unknown as ClusterMetadataClaims);
    }
    return all;
  } finally {
    await stores.close();
  }
}

const anchorYaml = (dir: string) =>
  parse(readFileSync(join(dir, 'anchor.yaml'), 'utf8')) as { anchor: { gossip?: { port: number } } };

describe('anchor init: the anchor gossip identity', () => {
  it('creates a gossip key, records port + 2, and signs it into every metadata version', async () => {
    const dir = dirs.make('citymesh-anchor-');
    const init = await cli('anchor', 'init', '--cluster', 'jjj', '--dir', dir, '--port', '7300');
    expect(init.code, init.err).toBe(0);
    const { peerId } = readGossipKey(join(dir, 'gossip-key'));
    expect(init.out).toContain(`gossip peer ${peerId} at /ip4/127.0.0.1/tcp/7302`);
    expect(anchorYaml(dir).anchor.gossip).toEqual({ port: 7302 });
    // Versions signed after a reopen (here: a key rollover) carry it too.
    const rotate = await cli('anchor', 'rotate', '--dir', dir, '--stage', 'publish');
    expect(rotate.code, rotate.err).toBe(0);
    const versions = await storedClaims(dir);
    expect(versions).toHaveLength(2);
    for (const claims of versions) {
      expect(claims.gossip).toEqual({ anchor_peer_id: peerId, anchor_address: '/ip4/127.0.0.1/tcp/7302' });
    }
  });

  it('takes the gossip port from --gossip-port', async () => {
    const dir = dirs.make('citymesh-anchor-');
    const init = await cli(
      'anchor',
      'init',
      '--cluster',
      'jjj',
      '--dir',
      dir,
      '--port',
      '7300',
      '--gossip-port',
      '7999',
    );
    expect(init.code, init.err).toBe(0);
    expect(anchorYaml(dir).anchor.gossip).toEqual({ port: 7999 });
    expect((await storedClaims(dir))[0]?.gossip?.anchor_address).toBe('/ip4/127.0.0.1/tcp/7999');
  });

  it('with --no-gossip makes no key and signs no claim, as anchors made before gossip', async () => {
    const dir = dirs.make('citymesh-anchor-');
    const init = await cli('anchor', 'init', '--cluster', 'jjj', '--dir', dir, '--no-gossip');
    expect(init.code, init.err).toBe(0);
    expect(existsSync(join(dir, 'gossip-key'))).toBe(false);
    expect(anchorYaml(dir).anchor).not.toHaveProperty('gossip');
    expect((await cli('anchor', 'rotate', '--dir', dir, '--stage', 'publish')).code).toBe(0);
    for (const claims of await storedClaims(dir)) expect(claims).not.toHaveProperty('gossip');
  });

  it.each([
    ['--no-gossip with --gossip-port', ['--no-gossip', '--gossip-port', '7999'], /exclude each other/],
    ['a gossip port equal to the HTTPS port', ['--port', '7300', '--gossip-port', '7300'], /anchor\.gossip\.port/],
  ])('refuses %s and creates nothing', async (_what, args, message) => {
    const dir = join(dirs.make('citymesh-anchor-'), 'anchor');
    const init = await cli('anchor', 'init', '--cluster', 'jjj', '--dir', dir, ...args);
    expect(init.code).toBe(1);
    expect(init.err).toContain('[INVALID_CONFIG]');
    expect(init.err).toMatch(message);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('node join: the gossip options', () => {
  let t: TestAnchor;
  beforeAll(async () => {
    t = await startTestAnchor();
  });
  afterAll(() => t.stop());

  const join = async (city: string, ...args: string[]) => {
    const { token } = await t.anchor.invite(city);
    const dir = dirs.make(`citymesh-${city}-`);
    const r = await cli('node', 'join', '--dir', dir, '--anchor', t.server.url, '--token', token, ...args);
    const node = (await latestClaims(t)).members.find((m) => m.city === city)?.nodes[0];
    return { ...r, dir, node };
  };

  it('sends the binding on the endpoint host, at --gossip-port when given', async () => {
    const byDefault = await join('tianjin', '--endpoint', 'localhost:7443', '--entity-id', 'https://localhost:7444');
    expect(byDefault.code, byDefault.err).toBe(0);
    expect(byDefault.node).toMatchObject({
      gossip_peer_id: readGossipKey(nodePath(byDefault.dir, 'gossipKey')).peerId,
      gossip_address: '/ip4/127.0.0.1/tcp/7445',
    });
    const chosen = await join('beijing', '--endpoint', 'beijing.example:7443', '--gossip-port', '9100');
    expect(chosen.code, chosen.err).toBe(0);
    expect(chosen.node?.gossip_address).toBe('/dns4/beijing.example/tcp/9100');
  });

  it('with --no-gossip joins without a key or a binding', async () => {
    const r = await join('baoding', '--no-gossip');
    expect(r.code, r.err).toBe(0);
    expect(existsSync(nodePath(r.dir, 'gossipKey'))).toBe(false);
    expect(r.node).toBeDefined();
    expect(r.node).not.toHaveProperty('gossip_peer_id');
  });

  it('refuses --no-gossip with --gossip-port', async () => {
    const r = await join('tangshan', '--no-gossip', '--gossip-port', '9100');
    expect(r.code).toBe(1);
    expect(r.err).toContain('[MALFORMED_REQUEST]');
    expect(r.node).toBeUndefined();
  });
});
