import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Stores } from '../../common/stores/index.js';
import { activeKey, type JwkSet, keysWith, publishedJwk, signingKey } from '../../trust-anchor/index.js';
import { federationKeySigner, type ReplayCache } from '../exchange/index.js';
import { AccessTokenVerifier } from '../oidc/access-token-verifier.js';
import { createCityProvider, oidcSigningJwks, openNodeOidcStore } from '../oidc/index.js';
import { oidcKeyFingerprint } from '../oidc/key-rollover.js';
import { LoginThrottle } from '../oidc/login-throttle.js';
import type { NodeIdentity } from '../trust/identity.js';
import type { TrustState } from '../trust/trust-state.js';

/** The resource indicator of the node's exchange API: the audience of its access tokens. */
export function exchangeResource(entityId: string): string {
  return `${entityId.replace(/\/$/, '')}/exchange`;
}

/** The city's OpenID Provider inside a running node, and the verifier of the tokens it issues. */
export interface NodeOidc {
  /** Serves the provider; always the current instance, across key rollovers. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly tokens: AccessTokenVerifier;
  /** Picks up a changed OIDC key set (`oidc rotate`): a new provider and verifier keys. */
  reload(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Starts the provider on the node's store and keys. oidc-provider reads its keys once,
 * so a rollover builds a new instance on the same store (sessions and grants survive)
 * and swaps it in; the verifier keeps retired keys, so tokens signed before still pass.
 */
export async function startNodeOidc(init: {
  dir: string;
  identity: NodeIdentity;
  stores: Stores;
  trust: TrustState;
  clock: Clock;
  log: Logger;
  replay: ReplayCache;
}): Promise<NodeOidc> {
  const { dir, identity, stores, trust, clock, log, replay } = init;
  await oidcSigningJwks(stores.keys, clock);
  const store = openNodeOidcStore(dir);
  const publicKeys = async (): Promise<JwkSet> =>
    ({
      keys: [
        ...(await keysWith(stores.keys, 'oidc', 'active')),
        ...(await keysWith(stores.keys, 'oidc', 'next')),
        ...(await keysWith(stores.keys, 'oidc', 'retired')),
      ].map(publishedJwk),
    }) as JwkSet;
  let verifierKeys = await publicKeys();
  const tokens = new AccessTokenVerifier({
    issuer: identity.entityId,
    city: identity.city,
    audience: exchangeResource(identity.entityId),
    keys: () => verifierKeys,
    metadata: () => trust.metadata,
    clock,
  });
  // One throttle for the node's lifetime: a key rollover rebuilds the provider, not the counts.
  const loginThrottle = new LoginThrottle();
  const build = async () => {
    const oidc = await createCityProvider({
      issuer: identity.entityId,
      city: identity.city,
      keys: stores.keys,
      store,
      resourceServers: { [exchangeResource(identity.entityId)]: { scope: 'exchange' } },
      clock,
      delegation: {
        metadata: () => trust.metadata,
        tokenExchange: {
          signer: federationKeySigner(identity.spiffeId, signingKey(await activeKey(stores.keys, 'federation'))),
        },
        jwtBearer: { replay },
      },
      loginThrottle,
      onError: (err) => log.error({ event: 'oidc.error', err: String(err) }, 'login page failed'),
    });
    oidc.provider.on('server_error', (_ctx: unknown, err: unknown) =>
      log.error({ event: 'oidc.server_error', err: String(err) }, 'OpenID Provider failed'),
    );
    return oidc.handler;
  };
  let current = await build();
  let fingerprint = await oidcKeyFingerprint(stores.keys);
  return {
    handler: (req, res) => current(req, res),
    tokens,
    async reload() {
      const now = await oidcKeyFingerprint(stores.keys);
      if (now === fingerprint) return false;
      current = await build();
      verifierKeys = await publicKeys();
      fingerprint = now;
      log.info({ event: 'oidc.keys_reloaded' }, 'OIDC signing keys changed; provider reloaded');
      return true;
    },
    close: () => store.close(),
  };
}
