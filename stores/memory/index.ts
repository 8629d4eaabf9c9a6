import type { Stores } from '../../common/stores/index.js';
import { PageTokenCodec } from '../shared/page-token.js';
import { MemoryAgreementStore } from './agreement-store.js';
import { MemoryAnchorStore } from './anchor-store.js';
import { MemoryAuditStore } from './audit-store.js';
import { MemoryCatalogStore } from './catalog-store.js';
import { MemoryDeviceStore } from './device-store.js';
import { MemoryKeyStore } from './key-store.js';
import { MemoryPolicyStore } from './policy-store.js';
import { MemoryRecordStore } from './record-store.js';

export {
  MemoryAgreementStore,
  MemoryAnchorStore,
  MemoryAuditStore,
  MemoryCatalogStore,
  MemoryDeviceStore,
  MemoryKeyStore,
  MemoryPolicyStore,
  MemoryRecordStore,
};

/**
 * Every store in memory: for tests, fakes and simulations that need no persistence.
 * Page tokens are signed with a secret of this bundle, so they die with it.
 */
export function openMemoryStores(): Stores {
  const tokens = PageTokenCodec.random();
  return {
    keys: new MemoryKeyStore(tokens),
    devices: new MemoryDeviceStore(tokens),
    catalog: new MemoryCatalogStore(tokens),
    records: new MemoryRecordStore(),
    audit: new MemoryAuditStore(tokens),
    agreements: new MemoryAgreementStore(tokens),
    policies: new MemoryPolicyStore(tokens),
    anchor: new MemoryAnchorStore(),
    close: async () => {},
  };
}
