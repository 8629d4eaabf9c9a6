import { describe, expect, it } from 'vitest';
import { checkStatementAboutUs } from '../../nodes/trust/statement-check.js';
import type { EntityStatementClaims } from '../../trust-anchor/index.js';
import { codeOf } from '../support/anchor-harness.js';

const statement = (overrides: { kid?: string; city?: string; trustDomain?: string } = {}): EntityStatementClaims => ({
  iss: 'https://anchor.example',
  sub: 'https://beijing.example',
  iat: 1,
  exp: 2,
  jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: overrides.kid ?? 'fed-1' }] },
  metadata: {
    citymesh_node: {
      cluster: 'jjj',
      city: overrides.city ?? 'beijing',
      trust_domain: overrides.trustDomain ?? 'beijing.jjj.citymesh',
    },
  },
});
const expected = { federationKid: 'fed-1', cluster: 'jjj', city: 'beijing' };

describe("the anchor's statement a joining node accepts (N7)", () => {
  it('accepts a statement vouching for this node’s key and city', () => {
    expect(() => checkStatementAboutUs(statement(), expected)).not.toThrow();
  });

  it('refuses one without this node’s key, about another city, or another trust domain', async () => {
    expect(await codeOf(() => checkStatementAboutUs(statement({ kid: 'other' }), expected))).toBe(
      'TRUST_CHAIN_INVALID',
    );
    expect(await codeOf(() => checkStatementAboutUs(statement({ city: 'tianjin' }), expected))).toBe(
      'TRUST_CHAIN_INVALID',
    );
    expect(
      await codeOf(() => checkStatementAboutUs(statement({ trustDomain: 'tianjin.jjj.citymesh' }), expected)),
    ).toBe('TRUST_CHAIN_INVALID');
  });
});
