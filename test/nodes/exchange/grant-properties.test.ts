import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../common/errors/mesh-error.js';
import { checkGrantShape, exchangeGrantSchema } from '../../../nodes/exchange/grant-claims.js';
import { issueExchangeGrant, verifyExchangeGrant } from '../../../nodes/exchange/index.js';
import { BEIJING_NODE, buildExchangePki, type ExchangePki, NOW_S } from './fixtures.js';
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

  it('has a claims check that refuses exactly what the schema refuses', () => {
    const valid: Record<string, unknown> = { ...REQUEST, iss: BEIJING_NODE, iat: NOW_S, exp: NOW_S + 30, jti: 'j-1' };
    const odd: unknown[] = [
      undefined,
      null,
      '',
      'x'.repeat(129),
      'x'.repeat(257),
      'x'.repeat(513),
      0,
      -0,
      1.5,
      2 ** 53,
      Number.NaN,
      [],
      {},
      Object.create(null),
      new Date(0),
      'read',
      'READ',
      'district',
      'internal',
      'secret',
      'health',
      'Health',
      '110105',
      '999999',
      'beijing',
      'bei--jing',
      BEIJING_NODE,
      'spiffe://beijing.jjj.citymesh/robot/n',
      'jjj/tianjin/health-commission/clinics@1.0.0',
      'jjj/tianjin/x',
      { sub: 'a' },
      { sub: '' },
      { sub: 'a', act: { sub: 'b', act: { sub: 'c', act: { sub: 'd', act: { sub: 'e', act: { sub: 'f' } } } } } },
      { sub: 'a', act: [] },
    ];
    const claims = fc.dictionary(
      fc.constantFrom(...Object.keys(valid), 'extra'),
      fc.constantFrom(...odd.map((_, i) => i)),
      { maxKeys: 3 },
    );
    fc.assert(
      fc.property(claims, fc.boolean(), (changes, asArray) => {
        const mutated: Record<string, unknown> = { ...valid };
        for (const [key, i] of Object.entries(changes)) {
          if (odd[i] === undefined) delete mutated[key];
          else mutated[key] = odd[i];
        }
        const input = asArray ? [mutated] : mutated;
        const schemaAccepts = exchangeGrantSchema.safeParse(input).success;
        let accepted = true;
        try {
          checkGrantShape(input, 'TOKEN_MALFORMED');
        } catch (err) {
          expect(isMeshError(err, 'TOKEN_MALFORMED')).toBe(true);
          accepted = false;
        }
        expect(accepted).toBe(schemaAccepts);
      }),
      { numRuns: 2000 },
    );
  });
});
