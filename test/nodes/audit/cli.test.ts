import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStores } from '../../../stores/index.js';
import { cli } from '../../support/cli-in-process.js';
import { exchange, openNode } from './scenario.js';
import { BEIJING, clock, makeNodeDir, newKey, type TestKey, TIANJIN } from './support.js';

const root = mkdtempSync(join(tmpdir(), 'citymesh-audit-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let tianjin: { dir: string; key: TestKey };
let beijing: { dir: string; key: TestKey };

beforeAll(async () => {
  tianjin = await makeNodeDir(root, 'tianjin', TIANJIN);
  beijing = await makeNodeDir(root, 'beijing', BEIJING);
  const shared = clock();
  const cs = openSqliteStores(join(tianjin.dir, 'node.db'));
  const ps = openSqliteStores(join(beijing.dir, 'node.db'));
  const consumer = await openNode(TIANJIN, { stores: cs, key: tianjin.key, clock: shared });
  const provider = await openNode(BEIJING, { stores: ps, key: beijing.key, clock: shared });
  for (let n = 1; n <= 3; n++) await exchange(consumer, provider, n);
  await consumer.log.close();
  await provider.log.close();
  await cs.close();
  await ps.close();
});

describe('citymesh audit', () => {
  it('exports a node folder as NDJSON and verifies it', async () => {
    const out = join(root, 'beijing.ndjson');
    const exported = await cli('audit', 'export', '--dir', beijing.dir, '--out', out);
    expect(exported.code, exported.err).toBe(0);
    expect(JSON.parse(exported.out)).toMatchObject({ entries: 3, receipts: 3 });
    expect(JSON.parse(readFileSync(out, 'utf8').split('\n')[0] as string)).toMatchObject({
      type: 'header',
      format: 'citymesh-audit-export',
      nodeId: BEIJING,
    });
    const verified = await cli('audit', 'verify', out);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toContain(`audit evidence of ${BEIJING}`);
    expect(verified.out).toMatch(/result: +OK/);
    expect(verified.out).toContain('not pinned');
  });

  it("cross-checks a consumer's folder against the provider's export", async () => {
    const out = join(root, 'beijing-x.ndjson');
    await cli('audit', 'export', '--dir', beijing.dir, '--out', out);
    const r = await cli('audit', 'verify', tianjin.dir, '--against', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("cross-check: 3 of 3 receipts confirmed by the provider's log: OK");
    const json = await cli('audit', 'verify', tianjin.dir, '--against', beijing.dir, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ valid: true, receipts: 3, matched: 3 });
  });

  it('exits 1 naming the first broken entry when an exported entry was edited', async () => {
    const out = join(root, 'tampered.ndjson');
    await cli('audit', 'export', '--dir', beijing.dir, '--out', out);
    const lines = readFileSync(out, 'utf8').split('\n');
    const second = JSON.parse(lines[2] as string);
    second.payload = second.payload.replace(/"method":"[^"]+"/, '"method":"/citymesh.v1.DatasetService/StreamRecords"');
    lines[2] = JSON.stringify(second);
    writeFileSync(out, lines.join('\n'));
    const r = await cli('audit', 'verify', out);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAILED: first broken entry 2');
    expect(r.err).toMatch(/^citymesh: audit verification failed .*\[AUDIT_CHAIN_BROKEN\]\n$/);
  });

  it('exits 1 when the keys the auditor pins are not the ones that signed', async () => {
    const keysFile = join(root, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ [BEIJING]: (await newKey()).jwks }));
    const r = await cli('audit', 'verify', beijing.dir, '--keys', keysFile);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[AUDIT_CHECKPOINT_INVALID]');
    writeFileSync(keysFile, JSON.stringify({ [BEIJING]: beijing.key.jwks }));
    const ok = await cli('audit', 'verify', beijing.dir, '--keys', keysFile);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('pinned by --keys');
  });

  it('refuses a file that is not an audit export, naming the line', async () => {
    const bad = join(root, 'bad.ndjson');
    writeFileSync(bad, '{"type":"header","format":"something-else"}\n');
    const r = await cli('audit', 'verify', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain('line 1');
    expect(r.err).toContain('[MALFORMED_REQUEST]');
    const missing = await cli('audit', 'export', '--dir', join(root, 'nowhere'), '--out', join(root, 'x'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('holds no joined node');
  });
});
