import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../../common/clock.js';
import { providerMetadata } from './clients.js';
import type { OidcStore } from './oidc-store.js';

/**
 * oidc-provider's storage, on an {@link OidcStore}. `Client` is read from the app
 * registry (read-only: no dynamic registration), so `citymesh clients add` takes effect
 * on a running node at its next request; every other model is a stored payload.
 */
export function adapterFactory(store: OidcStore, clock: Clock): new (name: string) => Adapter {
  return class CityAdapter implements Adapter {
    constructor(readonly name: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.name === 'Client') throw new Error('clients are registered with `citymesh clients add`');
      const expiresAt = expiresIn > 0 ? clock.nowMs() + expiresIn * 1000 : undefined;
      await store.upsertPayload(this.name, id, payload as Record<string, unknown>, expiresAt);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.name === 'Client') {
        const client = await store.client(id);
        // A disabled app is simply unknown to the provider: every request fails invalid_client.
        return client === undefined || client.disabledAt !== undefined
          ? undefined
          : (providerMetadata(client) as AdapterPayload);
      }
      return (await store.findPayload(this.name, id, clock.nowMs())) as AdapterPayload | undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return (await store.findPayloadBy(this.name, 'userCode', userCode, clock.nowMs())) as AdapterPayload | undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return (await store.findPayloadBy(this.name, 'uid', uid, clock.nowMs())) as AdapterPayload | undefined;
    }

    async consume(id: string): Promise<void> {
      await store.consumePayload(this.name, id, clock.nowSeconds());
    }

    async destroy(id: string): Promise<void> {
      await store.destroyPayload(this.name, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await store.revokeByGrantId(this.name, grantId);
    }
  };
}
