import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvLineOf, SYNTHETIC_CSV_HEADER, syntheticDevices } from '../../nodes/devices/index.js';
import { type NodeIdentity, nodePath } from '../../nodes/index.js';
import { openSqliteStores } from '../../stores/index.js';
import { cli } from '../support/cli-in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-devices-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const device = syntheticDevices({ city: 'tianjin', devices: 0 });
const json = <T>(text: string) => JSON.parse(text) as T;

type Summary = { inserted: number; unchanged: number; rejected: number; invalid: number; conflicts: number };

beforeAll(async () => {
  const identity: NodeIdentity = {
    cluster: 'jjj',
    city: 'tianjin',
    nodeName: 'n1',
    spiffeId: 'spiffe://tianjin.jjj.citymesh/node/n1',
    entityId: 'https://localhost:8443',
    grpcEndpoint: 'localhost:7443',
    anchorUrl: 'https://localhost:7000',
    anchorEntityId: 'https://localhost:7000',
    joinedAt: new Date(0).toISOString(),
  };
  writeFileSync(nodePath(dir, 'identity'), JSON.stringify(identity));
  await openSqliteStores(nodePath(dir, 'store')).close();
});

describe('citymesh devices import', () => {
  const file = join(dir, 'devices.ndjson');
  const rejects = join(dir, 'rejects.ndjson');
  beforeAll(() => {
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify(device(i)));
    lines.splice(3, 0, '{"deviceId":"x"', JSON.stringify({ ...device(90), regionCode: '110105' }));
    lines.push(JSON.stringify({ ...device(91), type: 'warp-drive' }), JSON.stringify({ ...device(1), ownerOrg: 'b' }));
    writeFileSync(file, `${lines.join('\n')}\n`);
  });

  it('imports the good lines, prints the bad ones with their line numbers, and exits 0', async () => {
    const r = await cli('devices', 'import', file, '--dir', dir, '--rejects', rejects, '--list-rejects', '2');
    expect(r.code, r.err).toBe(0);
    expect(json<Summary>(r.out)).toMatchObject({ inserted: 20, unchanged: 0, rejected: 4, invalid: 3, conflicts: 1 });
    expect(r.err).toContain(`${file}:4: not JSON`);
    expect(r.err).toMatch(
      new RegExp(`${file}:5: regionCode "110105" is not inside tianjin .* \\[DEVICE_WRONG_CITY\\]`),
    );
    expect(r.err).toContain(`... and 2 more rejected line(s) (all in ${rejects})`);
    const all = readFileSync(rejects, 'utf8')
      .trim()
      .split('\n')
      .map((l) => json<{ line: number; code: string }>(l));
    expect(all.map((x) => [x.line, x.code])).toEqual([
      [4, 'MALFORMED_REQUEST'],
      [5, 'DEVICE_WRONG_CITY'],
      [23, 'INVALID_IDENTIFIER'],
      [24, 'ALREADY_EXISTS'],
    ]);
  });

  it('run again, imports nothing twice and counts the devices unchanged; --fail-on-reject exits 1', async () => {
    const r = await cli('devices', 'import', file, '--dir', dir, '--fail-on-reject');
    expect(r.code).toBe(1);
    expect(json<Summary>(r.out)).toMatchObject({ inserted: 0, unchanged: 20, rejected: 4 });
    expect(r.err).toContain('had completed; running it again');
    expect(r.err).toContain('4 line(s) of');
  });

  it('imports CSV, and draws the progress bar when asked', async () => {
    const csv = join(dir, 'devices.csv');
    const rows = Array.from({ length: 10 }, (_, i) => csvLineOf(device(100 + i)));
    writeFileSync(csv, `${SYNTHETIC_CSV_HEADER}\r\n${rows.join('\r\n')}\r\n`);
    const r = await cli('devices', 'import', csv, '--dir', dir, '--progress', '--batch', '3');
    expect(r.code, r.err).toBe(0);
    expect(json<Summary & { format: string }>(r.out)).toMatchObject({ format: 'csv', inserted: 10, rejected: 0 });
    expect(r.err).toMatch(/\[#{24}\] 100\.0% 11\/11 lines · [\d,]+ devices\/s · ETA 0:00/);
  });

  it('refuses another file under a used job id, and a missing file', async () => {
    const other = join(dir, 'other.ndjson');
    writeFileSync(other, `${JSON.stringify(device(200))}\n`);
    const first = await cli('devices', 'import', file, '--dir', dir, '--job', 'fixed');
    expect(first.code).toBe(0);
    const r = await cli('devices', 'import', other, '--dir', dir, '--job', 'fixed');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/was started from .*devices\.ndjson.* \[MALFORMED_REQUEST\]\n$/);
    expect((await cli('devices', 'import', join(dir, 'none.ndjson'), '--dir', dir)).code).toBe(1);
  });
});

describe('citymesh devices registry commands', () => {
  const jwk = () => JSON.stringify(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }));
  const base = ['--dir', dir];
  const register = [
    ...['devices', 'register', ...base, '--id', 'cam-1', '--type', device(0).type as string],
    ...['--industry', device(0).industry as string, '--region', '120103', '--owner-org', 'police'],
  ];

  const key = jwk();
  const validity = ['--not-before', '2025-01-01T00:00:00Z', '--not-after', '2099-01-01T00:00:00Z'];
  let thumbprint = '';

  it('registers with a key (thumbprint as credential id), then the same again changes nothing', async () => {
    const first = await cli(...register, '--jwk', key, ...validity, '--attribute', 'vendor=acme');
    expect(first.code, first.err).toBe(0);
    const out = json<{ created: boolean; device: { credentials: { credentialId: string }[]; attributes: object } }>(
      first.out,
    );
    expect(out.created).toBe(true);
    expect(out.device.attributes).toEqual({ vendor: 'acme' });
    thumbprint = out.device.credentials[0]?.credentialId ?? '';
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await cli(...register, '--jwk', key, ...validity, '--attribute', 'vendor=acme');
    expect(json<{ created: boolean }>(again.out).created).toBe(false);
    const other = await cli(...register, '--jwk', key, ...validity);
    expect(other.err).toMatch(/registered with another attributes \[ALREADY_EXISTS\]/);
  });

  it('gets, lists with filters and pages, and reports an unknown device', async () => {
    const got = await cli('devices', 'get', 'cam-1', ...base);
    expect(json<{ device: { regionCode: string } }>(got.out).device.regionCode).toBe('120103');
    const listed = await cli('devices', 'list', ...base, '--region-prefix', '120103', '--page-size', '1');
    const page = json<{ devices: { deviceId: string }[]; nextPageToken?: string }>(listed.out);
    expect(page.devices).toHaveLength(1);
    expect(page.nextPageToken).toBeDefined();
    const next = await cli(
      'devices',
      'list',
      ...base,
      '--region-prefix',
      '120103',
      '--page-token',
      page.nextPageToken ?? '',
    );
    expect(json<{ devices: unknown[] }>(next.out).devices.length).toBeGreaterThan(0);
    const missing = await cli('devices', 'get', 'nope', ...base);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/\[DEVICE_NOT_FOUND\]\n$/);
  });

  it('suspends, resumes, rotates, removes the old key and revokes, auditing each change', async () => {
    const status = async (...args: string[]) => {
      const r = await cli('devices', ...args, ...base);
      expect(r.code, r.err).toBe(0);
      return json<{ device: { status: string; credentials: { credentialId: string }[] } }>(r.out).device;
    };
    expect((await status('suspend', 'cam-1', '--reason', 'lens broken')).status).toBe('suspended');
    expect((await status('resume', 'cam-1')).status).toBe('active');
    const rotated = await status('rotate-credential', 'cam-1', '--jwk', jwk(), '--credential-id', 'k2');
    expect(rotated.credentials.map((c) => c.credentialId)).toEqual([thumbprint, 'k2']);
    // A thumbprint is base64url: one in 64 starts with '-', which only `--` keeps from being read as an option.
    const removal = await cli('devices', 'remove-credential', 'cam-1', ...base, '--', thumbprint);
    expect(removal.code, removal.err).toBe(0);
    const removed = json<{ device: { credentials: { credentialId: string }[] } }>(removal.out).device;
    expect(removed.credentials.map((c) => c.credentialId)).toEqual(['k2']);
    expect((await status('revoke', 'cam-1', '--reason', 'decommissioned')).status).toBe('revoked');
    const resumed = await cli('devices', 'resume', 'cam-1', ...base);
    expect(resumed.err).toMatch(/\[DEVICE_REVOKED\]\n$/);
    const usage = await cli('devices', 'suspend', 'cam-1', ...base);
    expect(usage.code).toBe(2);

    const stores = openSqliteStores(nodePath(dir, 'store'));
    try {
      const entries = await stores.audit.range(1, 100);
      const kinds = entries.map((e) => e.kind);
      expect(kinds).toEqual(expect.arrayContaining(['devices.imported', 'device.registered', 'device.suspended']));
      expect(kinds.slice(-5)).toEqual([
        'device.suspended',
        'device.resumed',
        'device.credential_added',
        'device.credential_removed',
        'device.revoked',
      ]);
    } finally {
      await stores.close();
    }
  });
});
