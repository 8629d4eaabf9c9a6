import { canonicalize } from '../../common/canonical-json.js';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { CatalogEntry, CatalogStore } from '../../common/stores/catalog-store.js';
import { CapabilityBackends } from './backend-registry.js';
import type { ParsedManifest, PublishableEntry } from './manifest.js';

/** What publishing works on. */
export interface PublishComponents {
  readonly catalog: CatalogStore;
  readonly clock: Clock;
  /** The node folder, where the capability backend registry lives. */
  readonly dir: string;
}

/** What happened to one entry of the manifest. */
export interface PublishedEntry {
  readonly id: string;
  readonly version: string;
  readonly kind: CatalogEntry['kind'];
  /** `unchanged` when that version was already published with the same content. */
  readonly status: 'published' | 'unchanged';
}

export interface PublishResult {
  readonly entries: readonly PublishedEntry[];
  /** Capability backends registered in the node folder by this manifest. */
  readonly backends: number;
}

const CONTENT_FIELDS = [
  'kind',
  'title',
  'description',
  'ownerOrg',
  'city',
  'industry',
  'regionCode',
  'level',
  'classification',
  'schema',
  'license',
  'requiresAgreement',
] as const satisfies readonly (keyof PublishableEntry)[];

/** The fields whose values differ; publication time and withdrawal are not content. */
function changedFields(stored: CatalogEntry, entry: PublishableEntry): string[] {
  return CONTENT_FIELDS.filter((field) => canonicalize(stored[field]) !== canonicalize(entry[field]));
}

/**
 * Publishes a checked manifest: its entries into the catalog and its capabilities'
 * backends into the node folder. Idempotent: a version already published with the same
 * content is left as it is. Versions are immutable, so a changed entry at a published
 * version is refused before anything is written, with the fields that changed.
 *
 * @throws MeshError `ALREADY_EXISTS` naming each changed entry and asking for a new version
 */
export async function publishManifest(components: PublishComponents, manifest: ParsedManifest): Promise<PublishResult> {
  const { catalog, clock, dir } = components;
  const results: PublishedEntry[] = [];
  const fresh: PublishableEntry[] = [];
  const conflicts: string[] = [];
  for (const entry of manifest.entries) {
    const stored = await catalog.get(entry.id, entry.version);
    const result = { id: entry.id, version: entry.version, kind: entry.kind };
    if (stored === undefined) {
      fresh.push(entry);
      results.push({ ...result, status: 'published' });
      continue;
    }
    const changed = changedFields(stored, entry);
    if (changed.length === 0) results.push({ ...result, status: 'unchanged' });
    else conflicts.push(`${entry.id}@${entry.version} (changed: ${changed.join(', ')})`);
  }
  if (conflicts.length > 0) {
    const first = manifest.entries.find((e) => conflicts[0]?.startsWith(`${e.id}@${e.version} `)) as PublishableEntry;
    throw new MeshError(
      'ALREADY_EXISTS',
      `already published with different content: ${conflicts.join('; ')}. Published versions are immutable: bump the version to publish a change`,
      { details: { id: first.id, version: first.version, conflicts: conflicts.length } },
    );
  }

  // Backends first: a capability in the catalog then always has a backend, and
  // publishing again repairs a run that stopped between the two steps.
  const registry = CapabilityBackends.load(dir);
  const updated = registry.with(manifest.backends);
  if (canonicalize(updated.records) !== canonicalize(registry.records)) updated.save(dir);

  const publishedAt = clock.now();
  for (const entry of fresh) await catalog.put({ ...entry, publishedAt });
  return { entries: results, backends: manifest.backends.length };
}
