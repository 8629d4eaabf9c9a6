import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGossipKey } from '../../common/gossip/key.js';
import { nodePath, readNodeFile } from '../../nodes/trust/node-files.js';
import type { ClusterMetadataClaims } from '../../trust-anchor/index.js';
import { citymesh, freePort, requireBuiltCli, startCitymesh, stop } from '../support/cli-process.js';

/**
 * The real CLI, as separate processes, over HTTPS on loopback. Each step is a process
 * with about 1.5 s of start-up on a busy 2-core machine, and a test runs several.
 */
describe('anchor init/serve/invite and node join with the real CLI', { timeout: 90_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'citymesh-anchor-cli-'));
  let anchor: ChildProcess;
  let url = '';
  let anchorPort = 0;

  const lastLine = (text: string) => text.trim().split('\n').at(-1)!;
  const invite = async (city: string) => {
    const r = await citymesh(['anchor', 'invite', '--dir', 'anchor', '--city', city], work);
    expect(r.code, r.stderr).toBe(0);
    return lastLine(r.stdout);
  };
  const joinNode = (dir: string, token: string, port: number) =>
    citymesh(
      [
        'node',
        'join',
        '--dir',
        dir,
        '--anchor',
        url,
        '--token',
        token,
        '--endpoint',
        `localhost:${port}`,
        '--entity-id',
        `https://localhost:${port + 1}`,
      ],
      work,
    );
  const status = async (dir: string) => {
    const r = await citymesh(['node', 'status', '--dir', dir, '--refresh'], work);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    requireBuiltCli();
    anchorPort = await freePort();
    const init = await citymesh(
      ['anchor', 'init', '--cluster', 'jjj', '--dir', 'anchor', '--port', String(anchorPort)],
      work,
    );
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/^root pin [A-Za-z0-9_-]{43}$/m);
    const started = await startCitymesh(['anchor', 'serve', '--dir', 'anchor'], work, /serving at (https:\/\/\S+)/);
    anchor = started.child;
    url = started.match[1]!;
  });

  afterAll(async () => {
    if (anchor) await stop(anchor);
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses a second init of the same folder', async () => {
    const r = await citymesh(['anchor', 'init', '--cluster', 'jjj', '--dir', 'anchor'], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ALREADY_EXISTS]');
  });

  it('enrols two cities, each verifying the anchor by the pin in its token', async () => {
    const tianjin = await joinNode('tianjin', await invite('tianjin'), 7611);
    expect(tianjin.code, tianjin.stderr).toBe(0);
    expect(tianjin.stdout).toContain('spiffe://tianjin.jjj.citymesh/node/n1');
    const beijing = await joinNode('beijing', await invite('beijing'), 7621);
    expect(beijing.code, beijing.stderr).toBe(0);
    const seen = await status('tianjin');
    expect(seen).toMatchObject({
      cluster: 'jjj',
      city: 'tianjin',
      members: ['beijing', 'tianjin'],
      state: 'current',
      anchorReachable: true,
    });
    expect(seen.offlineBudgetSeconds).toBeGreaterThan(86_000);
  });

  it("publishes each joined node's gossip key and the anchor's own in the metadata it serves", async () => {
    const peerOf = (file: string) => readGossipKey(join(work, file)).peerId;
    const metadata = decodeJwt(readNodeFile(join(work, 'beijing'), 'metadata')) as unknown as ClusterMetadataClaims;
    expect(metadata.gossip).toEqual({
      anchor_peer_id: peerOf('anchor/gossip-key'),
      anchor_address: `/ip4/127.0.0.1/tcp/${anchorPort + 2}`,
    });
    const nodes = metadata.members.flatMap((m) => m.nodes.map((n) => [m.city, n.gossip_peer_id, n.gossip_address]));
    expect(nodes).toEqual([
      ['beijing', readGossipKey(nodePath(join(work, 'beijing'), 'gossipKey')).peerId, '/ip4/127.0.0.1/tcp/7623'],
      ['tianjin', readGossipKey(nodePath(join(work, 'tianjin'), 'gossipKey')).peerId, '/ip4/127.0.0.1/tcp/7613'],
    ]);
  });

  it('refuses a join token used twice', async () => {
    const token = await invite('tangshan');
    expect((await joinNode('tangshan', token, 7631)).code).toBe(0);
    const again = await joinNode('tangshan-2', token, 7641);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[JOIN_TOKEN_USED]');
  });

  it('refuses a join token edited to name another city', async () => {
    const token = await invite('baoding');
    const r = await joinNode('forged', token.replace('.baoding.', '.beijing.'), 7651);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[JOIN_TOKEN_WRONG_CITY]');
  });

  it('refuses a city of another cluster', async () => {
    const r = await citymesh(['anchor', 'invite', '--dir', 'anchor', '--city', 'shanghai'], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[MEMBER_NOT_FOUND]');
  });

  it('publishes a revocation in a new metadata version that members pull', async () => {
    const before = (await status('beijing')).metadataVersion as number;
    const r = await citymesh(
      ['anchor', 'revoke', 'city', 'tangshan', '--dir', 'anchor', '--reason', 'compromised node'],
      work,
    );
    expect(r.code, r.stderr).toBe(0);
    const after = await status('beijing');
    expect(after.metadataVersion).toBe(before + 1);
    expect(after.revocations).toBe(1);
    const reinvite = await citymesh(['anchor', 'invite', '--dir', 'anchor', '--city', 'tangshan'], work);
    expect(reinvite.code).toBe(1);
    expect(reinvite.stderr).toContain('[CITY_REVOKED]');
  });

  it('rotates the anchor key in two stages while members keep verifying', async () => {
    const early = await citymesh(['anchor', 'rotate', '--dir', 'anchor', '--stage', 'publish'], work);
    expect(early.code, early.stderr).toBe(0);
    const refused = await citymesh(['anchor', 'rotate', '--dir', 'anchor', '--stage', 'activate'], work);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[ROLLOVER_TOO_EARLY]');
    // The test cannot wait a metadata lifetime: force it, as an operator would for a compromised key.
    for (const stage of [['publish'], ['activate', '--force']]) {
      const r = await citymesh(['anchor', 'rotate', '--dir', 'anchor', '--stage', ...stage], work);
      expect(r.code, r.stderr).toBe(0);
      expect((await status('beijing')).state).toBe('current');
      expect((await status('tianjin')).state).toBe('current');
    }
  });

  it('keeps serving on cached metadata when the anchor is down', async () => {
    await stop(anchor);
    const r = await citymesh(['node', 'status', '--dir', 'tianjin', '--refresh'], work);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ anchorReachable: false, state: 'current' });
  });
});
