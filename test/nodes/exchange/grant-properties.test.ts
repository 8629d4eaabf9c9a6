import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../common/errors/mesh-error.js';
import { issueExchangeGrant, verifyExchangeGrant } from '../../../nodes/exchange/index.js';
import { buildExchangePki, type ExchangePki, NOW_S } from './fixtures.js';
import { beijingSigner, REQUEST, verifyOptions } from './grant-support.js';

// Run with a few thousand locally after changing the verifier; 100 keeps the suite fast.
const NUM_RUNS = 100;

let pki: ExchangePki;
let token: string;
beforeAll(async () => {
  pki = await buildExchangePki();
  ({ token } = await issueExchangeGrant(beijingSigner(pki), REQUEST, NOW_S));
});

describe('exchange grant integrity', () => {
  it('verifies unchanged (the control for the property below)', async () => {
    await expect(verifyExchangeGrant(token, verifyOptions(pki))).resolves.toMatchObject({ issuerCity: 'beijing' });
  });

  it('refuses any single-byte change of a valid grant with a MeshError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.integer({ min: 0x00, max: 0xff }), async (index, byte) => {
        fc.pre(token.charCodeAt(index) !== byte);
        const changed = token.slice(0, index) + String.fromCharCode(byte) + token.slice(index + 1);
        // A fresh replay cache each run: only the change itself may cause the refusal.
        const outcome = await verifyExchangeGrant(changed, verifyOptions(pki)).then(
          () => 'accepted',
          (err: unknown) => (isMeshError(err) ? 'refused' : `crashed: ${String(err)}`),
        );
        expect(outcome).toBe('refused');
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
