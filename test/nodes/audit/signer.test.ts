import { describe, expect, it } from 'vitest';
import { ACTIVE_KEY_RECHECK_MS, keyStoreSigner, kidOf } from '../../../nodes/audit/signer.js';
import { openMemoryStores } from '../../../stores/index.js';
import { createKey } from '../../../trust-anchor/index.js';

describe('keyStoreSigner', () => {
  it('signs with the newest active key, and picks up a rollover within the recheck interval', async () => {
    const { keys } = openMemoryStores();
    const first = await createKey(keys, { purpose: 'federation', status: 'active', now: new Date(1_000) });
    let now = 10_000;
    const signer = keyStoreSigner(keys, 'federation', () => now);
    const payload = new TextEncoder().encode('{}');
    expect(kidOf(await signer.sign('x+jws', payload))).toBe(first.stored.kid);

    const second = await createKey(keys, { purpose: 'federation', status: 'active', now: new Date(2_000) });
    now += ACTIVE_KEY_RECHECK_MS - 1;
    expect(kidOf(await signer.sign('x+jws', payload))).toBe(first.stored.kid);
    now += 1;
    expect(kidOf(await signer.sign('x+jws', payload))).toBe(second.stored.kid);
    // A clock that steps back does not pin the old look at the store.
    await keys.setStatus(second.stored.kid, 'revoked', new Date(3_000));
    now -= 60_000;
    expect(kidOf(await signer.sign('x+jws', payload))).toBe(first.stored.kid);
  });
});
