import type { Stores } from '../../common/stores/index.js';
import { openMemoryStores } from '../../stores/memory/index.js';
import { describeAgreementStoreCompliance } from '../compliance/agreement-store.js';
import { describeAnchorStoreCompliance } from '../compliance/anchor-store.js';
import { describeAuditStoreCompliance } from '../compliance/audit-store.js';
import { describeCatalogStoreCompliance } from '../compliance/catalog-store.js';
import { describeDeviceStoreCompliance } from '../compliance/device-store.js';
import { describeKeyStoreCompliance } from '../compliance/key-store.js';
import { describePolicyStoreCompliance } from '../compliance/policy-store.js';
import { describeRecordStoreCompliance } from '../compliance/record-store.js';

/** Opens a fresh memory bundle and hands out one of its stores. */
function openOne<K extends Exclude<keyof Stores, 'close'>>(which: K) {
  return async () => {
    const stores = openMemoryStores();
    return { store: stores[which], close: () => stores.close() };
  };
}

describeKeyStoreCompliance('memory', openOne('keys'));
describeDeviceStoreCompliance('memory', openOne('devices'));
describeCatalogStoreCompliance('memory', openOne('catalog'));
describeRecordStoreCompliance('memory', openOne('records'));
describeAuditStoreCompliance('memory', openOne('audit'));
describeAgreementStoreCompliance('memory', openOne('agreements'));
describePolicyStoreCompliance('memory', openOne('policies'));
describeAnchorStoreCompliance('memory', openOne('anchor'));
