import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateOidcKey } from '../../../nodes/oidc/key-rollover.js';
import { ANCHOR_ENTITY_ID, codeOf, httpsCall } from '../../support/anchor-harness.js';
import { startTokenNode, type TokenNode } from './token-node.js';

let n: TokenNode;

beforeAll(async () => {
  n = await startTokenNode();
});

afterAll(() => n?.stop());

describe('two-stage rollover of the city OIDC key in a running node', () => {
  it('publishes, then activates, with every token issued on the way still accepted', async () => {
    const keys = n.node.context.stores.keys;
    const before = await n.token();
    const oldKid = decodeProtectedHeader(before).kid;

    const published = await rotateOidcKey(keys, 'publish', n.anchor.clock.now());
    expect(await n.node.reloadOidc()).toBe(true);
    const duringOverlap = await n.token();
    expect(decodeProtectedHeader(duringOverlap).kid).toBe(oldKid);
    const jwks = (await (await n.fetch(`${n.entityId}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, published.kid].sort());
    // A peer resolving the city through the anchor learns the next key from the trust chain.
    const resolved = await httpsCall(
      n.anchor,
      `/resolve?sub=${encodeURIComponent(n.entityId)}&trust_anchor=${encodeURIComponent(ANCHOR_ENTITY_ID)}`,
    );
    expect(resolved.status, resolved.body).toBe(200);
    const op = (decodeJwt(resolved.body) as { metadata: { openid_provider: { jwks: { keys: { kid: string }[] } } } })
      .metadata.openid_provider;
    expect(op.jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, published.kid].sort());

    expect(await codeOf(rotateOidcKey(keys, 'activate', n.anchor.clock.now()))).toBe('ROLLOVER_TOO_EARLY');
    // An hour later (the operator's clock; the node's stays, as TLS reads the wall clock).
    await rotateOidcKey(keys, 'activate', new Date(n.anchor.clock.nowMs() + 3600_000));
    expect(await n.node.reloadOidc()).toBe(true);
    const after = await n.token();
    expect(decodeProtectedHeader(after).kid).toBe(published.kid);
    expect(decodeJwt(after).iss).toBe(n.entityId);

    for (const accessToken of [before, duringOverlap, after]) {
      expect((await n.status({ authorization: `Bearer ${accessToken}` })).city).toBe('beijing');
    }
    expect(await n.node.reloadOidc()).toBe(false);
  });
});
