import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStores, type StoresConfig } from '../../stores/index.js';
import { aDevice } from '../compliance/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'citymesh-open-stores-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStores', () => {
  it.each<StoresConfig>([{ kind: 'memory' }, { kind: 'sqlite', path: join(dir, 'node.db') }])(
    'opens a working bundle of kind $kind',
    async (config) => {
      const stores = await openStores(config);
      try {
        await stores.devices.importBatch([aDevice()]);
        expect(await stores.devices.count({ city: 'tianjin' })).toBe(1);
        expect(await stores.audit.head()).toMatchObject({ sequence: 0 });
      } finally {
        await stores.close();
      }
    },
  );

  it('refuses an unknown kind', async () => {
    await expect(openStores({ kind: 'postgres' } as unknown as StoresConfig)).rejects.toThrow(TypeError);
  });
});
