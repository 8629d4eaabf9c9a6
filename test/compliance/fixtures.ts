import { createHash } from 'node:crypto';
import type { NewAgreement } from '../../common/stores/agreement-store.js';
import { type AuditEntry, type AuditHead, GENESIS_PREV_HASH } from '../../common/stores/audit-store.js';
import type { CatalogEntry } from '../../common/stores/catalog-store.js';
import type { Device, DeviceCredential } from '../../common/stores/device-store.js';
import type { StoredKey } from '../../common/stores/key-store.js';
import { at } from './support.js';

/*
 * Factories for valid domain values; each test overrides only the fields it is about.
 */

export function aKey(overrides: Partial<StoredKey> = {}): StoredKey {
  return {
    kid: 'key-1',
    purpose: 'federation',
    alg: 'ES256',
    publicJwk: {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    },
    privateKeyPem:
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n',
    status: 'next',
    createdAt: at(0),
    ...overrides,
  };
}

export function aCredential(overrides: Partial<DeviceCredential> = {}): DeviceCredential {
  return {
    credentialId: 'cred-1',
    kind: 'jwk',
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' },
    notBefore: at(0),
    notAfter: at(86_400 * 365),
    ...overrides,
  };
}

export function aDevice(overrides: Partial<Device> = {}): Device {
  return {
    city: 'tianjin',
    deviceId: 'dev-0001',
    type: 'air-quality-sensor',
    industry: 'environment',
    regionCode: '120101',
    ownerOrg: 'tj-eco-bureau',
    status: 'active',
    credentials: [aCredential()],
    attributes: { vendor: 'acme', firmware: '1.0.3' },
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

export function anEntry(overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id: 'jjj/tianjin/tj-eco-bureau/air-quality',
    version: '1.0.0',
    kind: 'dataset',
    title: 'Air quality readings',
    description: 'Hourly PM2.5 and PM10 per district',
    ownerOrg: 'tj-eco-bureau',
    city: 'tianjin',
    industry: 'environment',
    regionCode: '120000',
    level: 'city',
    classification: 'public',
    schema: { type: 'object', properties: { pm25: { type: 'number' } }, required: ['pm25'] },
    license: 'CC-BY-4.0',
    requiresAgreement: false,
    publishedAt: at(0),
    ...overrides,
  };
}

export function aNewAgreement(overrides: Partial<NewAgreement> = {}): NewAgreement {
  return {
    id: 'agr-1',
    datasetId: 'jjj/tianjin/tj-eco-bureau/air-quality@1.0.0',
    consumerCity: 'beijing',
    consumerSubject: 'spiffe://beijing.jjj.citymesh/app/dashboard',
    providerCity: 'tianjin',
    purpose: 'public-health-research',
    state: 'REQUESTED',
    createdAt: at(0),
    ...overrides,
  };
}

/** Hash of an entry as a stand-in audit core would compute it (the store never recomputes it). */
function entryHash(sequence: number, prevHash: string, payload: string): string {
  return createHash('sha256').update(`${sequence}\n${prevHash}\n${payload}`).digest('hex');
}

/** `count` entries continuing the chain at `head`. */
export function chainFrom(head: AuditHead, count: number, correlationId?: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let prev = head;
  for (let i = 0; i < count; i++) {
    const sequence = prev.sequence + 1;
    const payload = JSON.stringify({ n: sequence });
    const hash = entryHash(sequence, prev.hash, payload);
    entries.push({
      sequence,
      at: at(sequence),
      kind: 'exchange.completed',
      actor: 'spiffe://tianjin.jjj.citymesh/node/1',
      ...(correlationId === undefined ? {} : { correlationId }),
      payload,
      prevHash: prev.hash,
      hash,
    });
    prev = { sequence, hash };
  }
  return entries;
}

/** The first `count` entries of a chain. */
export function genesisChain(count: number): AuditEntry[] {
  return chainFrom({ sequence: 0, hash: GENESIS_PREV_HASH }, count);
}

/** A hex string of 64 chars derived from `seed`, for hashes that need only be well-formed. */
export function hex64(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}
