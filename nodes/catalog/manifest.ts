import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configIssuesOf, loadConfig } from '../../common/config/index.js';
import { getCity } from '../../common/ids/clusters.js';
import { levelOf as levelFrom } from '../../common/ids/region.js';
import type { CatalogEntry } from '../../common/stores/catalog-store.js';
import type { JsonObject } from '../../common/stores/json.js';
import type { BackendRecord, BackendSpec } from './backend-registry.js';
import { BUILTIN_HANDLERS } from './builtins/index.js';
import { manifestChecks } from './manifest-checks.js';
import { manifestError } from './manifest-error.js';
import { type ManifestCapability, type ManifestDocument, manifestSchema, UPSTREAM_LIMITS } from './manifest-schema.js';

/** The node a manifest is published on: its cluster, city and the city's region code. */
export interface ManifestTarget {
  readonly cluster: string;
  readonly city: string;
  /** GB/T 2260 code of the city; by default the bundled cluster data's. */
  readonly cityRegion?: string;
}

/** A catalog entry as the manifest defines it; `publishedAt` is set when it is published. */
export type PublishableEntry = Omit<CatalogEntry, 'publishedAt' | 'withdrawnAt'>;

/** A checked manifest: its entries and the node-local backends of its capabilities. */
export interface ParsedManifest {
  readonly source?: string;
  readonly cluster: string;
  readonly city: string;
  readonly entries: readonly PublishableEntry[];
  readonly backends: readonly BackendRecord[];
}

function readManifestFile(file: string): unknown {
  const fail = (rule: string, message: string) =>
    manifestError(file, undefined, [{ path: '', rule, message: `(file): ${message}` }]);
  const extension = extname(file).toLowerCase();
  const format = extension === '.json' ? 'json' : extension === '.yaml' || extension === '.yml' ? 'yaml' : undefined;
  if (format === undefined)
    throw fail('file-extension', `unsupported extension "${extension}"; use .yaml, .yml or .json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fail('file-read', `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw fail('file-syntax', `is not valid ${format.toUpperCase()}: ${(err as Error).message}`);
  }
}

const idOf = (doc: ManifestDocument, entry: { ownerOrg: string; name: string }) =>
  `${doc.cluster}/${doc.city}/${entry.ownerOrg}/${entry.name}`;

function backendOf(doc: ManifestDocument, capability: ManifestCapability): BackendSpec {
  const { builtin, dataset, url, timeoutMs, maxResponseBytes } = capability.backend;
  if (builtin !== undefined)
    return {
      kind: 'builtin',
      handler: builtin,
      ...(dataset === undefined ? {} : { dataset: `${doc.cluster}/${doc.city}/${dataset}` }),
    };
  return {
    kind: 'http',
    url: url as string,
    timeoutMs: timeoutMs ?? UPSTREAM_LIMITS.timeoutMs.default,
    maxResponseBytes: maxResponseBytes ?? UPSTREAM_LIMITS.maxResponseBytes.default,
  };
}

function toParsed(doc: ManifestDocument, source: string | undefined): ParsedManifest {
  const common = (kind: CatalogEntry['kind'], e: ManifestDocument['datasets'][number] | ManifestCapability) => ({
    id: idOf(doc, e),
    version: e.version,
    kind,
    title: e.title,
    description: e.description,
    ownerOrg: e.ownerOrg,
    city: doc.city,
    industry: e.industry,
    regionCode: e.regionCode,
    // The checks made sure a given level agrees with the code, so the code decides.
    level: levelFrom(e.regionCode),
    classification: e.classification,
    license: e.license,
    requiresAgreement: e.requiresAgreement,
  });
  const datasets = doc.datasets.map((d) => ({ ...common('dataset', d), schema: d.schema as JsonObject }));
  const capabilities = doc.capabilities.map((c) => {
    const builtin = c.backend.builtin === undefined ? undefined : BUILTIN_HANDLERS.get(c.backend.builtin);
    const schema = (c.schema ?? builtin?.inputSchema) as JsonObject;
    return { entry: { ...common('capability', c), schema }, backend: backendOf(doc, c) };
  });
  return Object.freeze({
    ...(source === undefined ? {} : { source }),
    cluster: doc.cluster,
    city: doc.city,
    entries: Object.freeze([...datasets, ...capabilities.map((c) => c.entry)]),
    backends: Object.freeze(
      capabilities.map((c) => ({
        id: c.entry.id,
        version: c.entry.version,
        requestSchema: c.entry.schema,
        backend: c.backend,
      })),
    ),
  });
}

/**
 * Reads and checks a catalog manifest for the node `target`: every field by its rule,
 * then across fields (the manifest's city is the node's, region codes lie in the city,
 * levels agree with codes, record schemas compile, backends are complete).
 *
 * @param source a `.yaml`, `.yml` or `.json` file, or an already-parsed document
 * @throws MeshError `MANIFEST_INVALID` listing every issue with its entry, field and rule
 */
export function parseManifest(source: string | object, target: ManifestTarget): ParsedManifest {
  const file = typeof source === 'string' ? source : undefined;
  const input = typeof source === 'string' ? readManifestFile(source) : source;
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw manifestError(file, input, [{ path: '', rule: 'type', message: '(top level): must be a mapping of keys' }]);
  const cityRegion = target.cityRegion ?? getCity(target.city).region;
  const schema = manifestSchema.superRefine(manifestChecks({ ...target, cityRegion }));
  let doc: ManifestDocument;
  try {
    doc = loadConfig(schema, input as object, { service: 'manifest' }) as ManifestDocument;
  } catch (err) {
    const issues = configIssuesOf(err);
    if (issues.length === 0) throw err;
    throw manifestError(file, input, issues);
  }
  return toParsed(doc, file);
}
