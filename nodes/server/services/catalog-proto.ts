import type { CatalogEntry, RecordStore, Classification as StoreClassification } from '../../../common/stores/index.js';
import {
  Classification,
  EntryKind,
  type CatalogEntry as ProtoCatalogEntry,
} from '../../../proto/gen/citymesh/v1/common.js';

const CLASSIFICATION_TO_PROTO: Record<StoreClassification, Classification> = {
  public: Classification.CLASSIFICATION_PUBLIC,
  internal: Classification.CLASSIFICATION_INTERNAL,
  sensitive: Classification.CLASSIFICATION_SENSITIVE,
  restricted: Classification.CLASSIFICATION_RESTRICTED,
};

/** The store's classification for a proto value; undefined for UNSPECIFIED. */
export function classificationFromProto(value: Classification): StoreClassification | undefined {
  const found = Object.entries(CLASSIFICATION_TO_PROTO).find(([, v]) => v === value);
  return found?.[0] as StoreClassification | undefined;
}

export function kindFromProto(value: EntryKind): CatalogEntry['kind'] | undefined {
  if (value === EntryKind.ENTRY_KIND_DATASET) return 'dataset';
  if (value === EntryKind.ENTRY_KIND_CAPABILITY) return 'capability';
  return undefined;
}

/** A stored catalog version as the protocol describes it; `id` carries `@version`. */
export async function entryToProto(
  entry: CatalogEntry,
  providerNodeId: string,
  records: RecordStore,
): Promise<ProtoCatalogEntry> {
  const schema = Buffer.from(JSON.stringify(entry.schema));
  let details: ProtoCatalogEntry['details'];
  if (entry.kind === 'dataset') {
    details = {
      $case: 'dataset',
      dataset: {
        recordSchema: schema,
        recordCount: await records.count(entry.id),
        highSequence: await records.highSequence(entry.id),
      },
    };
  } else {
    details = {
      $case: 'capability',
      capability: {
        methods: [
          { name: 'invoke', description: entry.description, inputSchema: schema, outputSchema: Buffer.from('{}') },
        ],
      },
    };
  }
  return {
    id: `${entry.id}@${entry.version}`,
    kind: entry.kind === 'dataset' ? EntryKind.ENTRY_KIND_DATASET : EntryKind.ENTRY_KIND_CAPABILITY,
    title: entry.title,
    description: entry.description,
    industry: entry.industry,
    regionCode: entry.regionCode,
    classification: CLASSIFICATION_TO_PROTO[entry.classification],
    purposes: [],
    agreementRequired: entry.requiresAgreement,
    providerNodeId,
    revision: 0,
    publishedAt: entry.publishedAt,
    withdrawnAt: entry.withdrawnAt,
    details,
  };
}
