import {
  type ExchangeGrantRequest,
  federationKeySigner,
  MemoryReplayCache,
  type VerifyExchangeGrantOptions,
} from '../../../nodes/exchange/index.js';
import type { ClusterMetadataClaims } from '../../../trust-anchor/index.js';
import { BEIJING_NODE, type ExchangePki, metadataOf, NOW_S, TIANJIN_NODE } from './fixtures.js';

/** A Beijing subject's request for a Tianjin dataset, forwarded by Beijing's node-1. */
export const REQUEST: ExchangeGrantRequest = {
  sub: 'u-4711',
  act: { sub: 'spiffe://beijing.jjj.citymesh/app/clinic-portal' },
  city: 'beijing',
  industry: 'health',
  level: 'district',
  region: '110105',
  purpose: 'treatment',
  aud: TIANJIN_NODE,
  resource: 'jjj/tianjin/health-commission/clinics',
  action: 'read',
  max_classification: 'internal',
};

export const beijingSigner = (pki: ExchangePki) => federationKeySigner(BEIJING_NODE, pki.beijingKey.signing);

/** Tianjin node-1 verifying what Beijing's node presents over mTLS. */
export function verifyOptions(
  pki: ExchangePki,
  overrides: Partial<VerifyExchangeGrantOptions> & { metadata?: ClusterMetadataClaims } = {},
): VerifyExchangeGrantOptions {
  return {
    metadata: metadataOf(pki),
    audience: TIANJIN_NODE,
    presenterCity: 'beijing',
    now: NOW_S,
    replay: new MemoryReplayCache(),
    ...overrides,
  };
}

/** The claims a valid grant issued at NOW_S carries, for hand-made tokens. */
export function claimsAt(iat = NOW_S, lifetime = 30): Record<string, unknown> {
  return { ...REQUEST, iss: BEIJING_NODE, iat, exp: iat + lifetime, jti: `jti-${iat}-${lifetime}-${Math.random()}` };
}
