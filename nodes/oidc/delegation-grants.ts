import type { Provider } from 'oidc-provider';
import type { Clock } from '../../common/clock.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import { type DelegationOptions, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT } from './delegation.js';
import { JWT_BEARER_PARAMS, jwtBearerHandler, type ResourceServerInfo } from './jwt-bearer.js';
import { publicJwks, TOKEN_EXCHANGE_PARAMS, tokenExchangeHandler } from './token-exchange.js';

export interface RegisterDelegationOptions {
  readonly issuer: string;
  readonly city: string;
  readonly clock: Clock;
  /** The provider's signing keys (private JWKs): their public halves verify `subject_token`s. */
  readonly signingJwks: { keys: readonly Record<string, unknown>[] };
  /** The provider's resource server configuration, for the peer token's resource. */
  readonly resourceInfo: (indicator: string) => ResourceServerInfo;
}

/** Registers the grant types `delegation` switches on (token exchange, JWT bearer) on `provider`. */
export function registerDelegationGrants(
  provider: Provider,
  delegation: DelegationOptions,
  options: RegisterDelegationOptions,
): void {
  const context = {
    provider,
    issuer: options.issuer,
    city: options.city,
    metadata: delegation.metadata,
    clock: options.clock,
  };
  if (delegation.tokenExchange !== undefined) {
    const keys: JwkSet = publicJwks(options.signingJwks);
    provider.registerGrantType(
      TOKEN_EXCHANGE_GRANT,
      tokenExchangeHandler(context, delegation.tokenExchange, keys),
      TOKEN_EXCHANGE_PARAMS,
    );
  }
  if (delegation.jwtBearer !== undefined) {
    provider.registerGrantType(
      JWT_BEARER_GRANT,
      jwtBearerHandler(context, delegation.jwtBearer, options.resourceInfo),
      JWT_BEARER_PARAMS,
    );
  }
}
