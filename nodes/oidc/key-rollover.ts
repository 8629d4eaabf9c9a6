import { MeshError } from '../../common/errors/mesh-error.js';
import type { KeyStore } from '../../common/stores/index.js';
import { createKey, keysWith } from '../../trust-anchor/index.js';
import { ENTITY_CONFIGURATION_LIFETIME_SECONDS } from '../http/entity-configuration.js';

/**
 * Two-stage rollover of the city's OIDC signing key, as for the anchor's key: `publish`
 * adds a `next` key that the provider's JWKS and the city's entity configuration list
 * but nobody signs with; `activate` makes it the signer and retires the old key, which
 * stays published so tokens it signed keep verifying until they expire. Activation
 * waits until every entity configuration a peer may have cached lists the next key.
 */
export async function rotateOidcKey(
  keys: KeyStore,
  stage: 'publish' | 'activate',
  now: Date,
  options: { force?: boolean } = {},
): Promise<{ kid: string }> {
  const pending = await keysWith(keys, 'oidc', 'next');
  if (stage === 'publish') {
    const next = pending[0] ?? (await createKey(keys, { purpose: 'oidc', status: 'next', now })).stored;
    return { kid: next.kid };
  }
  const next = pending[0];
  if (next === undefined) {
    throw new MeshError(
      'MALFORMED_REQUEST',
      'stage: no next OIDC key is published; run `oidc rotate --stage publish` first',
      {
        details: { field: 'stage' },
      },
    );
  }
  const readyAt = next.createdAt.getTime() + ENTITY_CONFIGURATION_LIFETIME_SECONDS * 1000;
  if (!options.force && now.getTime() < readyAt) {
    throw new MeshError(
      'ROLLOVER_TOO_EARLY',
      `OIDC key ${next.kid} was published at ${next.createdAt.toISOString()}; peers may hold an entity configuration without it until ${new Date(readyAt).toISOString()}. Activate after that, or pass --force`,
      { details: { field: 'stage', readyAt: new Date(readyAt).toISOString() } },
    );
  }
  const previous = await keysWith(keys, 'oidc', 'active');
  await keys.setStatus(next.kid, 'active', now);
  for (const old of previous) await keys.setStatus(old.kid, 'retired', now);
  return { kid: next.kid };
}

/** A fingerprint of the OIDC key set (kids and statuses): a running node reloads when it changes. */
export async function oidcKeyFingerprint(keys: KeyStore): Promise<string> {
  const all = (await keys.list({ purpose: 'oidc' }, { pageSize: 1000 })).items;
  return all
    .map((k) => `${k.kid}:${k.status}`)
    .sort()
    .join(',');
}
