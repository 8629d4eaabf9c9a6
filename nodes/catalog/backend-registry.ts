import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../common/errors/mesh-error.js';
import { parseResourceId } from '../../common/ids/resource-id.js';
import type { JsonObject } from '../../common/stores/json.js';
import { writeFileAtomic } from '../trust/node-files.js';

/** Where a node keeps its capability backends, under its `--dir`. Node-local: never published. */
export const BACKENDS_FILE = 'capabilities/backends.json';

/** How a capability is served: a built-in handler, or an upstream HTTP endpoint. */
export type BackendSpec =
  | { readonly kind: 'builtin'; readonly handler: string; readonly dataset?: string }
  | { readonly kind: 'http'; readonly url: string; readonly timeoutMs: number; readonly maxResponseBytes: number };

/** The backend of one capability version, with the request schema invocations are checked against. */
export interface BackendRecord {
  /** `<cluster>/<city>/<org>/<name>`, without version. */
  readonly id: string;
  readonly version: string;
  readonly requestSchema: JsonObject;
  readonly backend: BackendSpec;
}

type BackendsFile = { readonly formatVersion: 1; readonly backends: readonly BackendRecord[] };

const versionOrder = (v: string) => v.split('.').map(Number) as [number, number, number];
function compareVersions(a: string, b: string): number {
  const [x, y] = [versionOrder(a), versionOrder(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** The capability backends of a node, as read from its folder. */
export class CapabilityBackends {
  readonly #byId: ReadonlyMap<string, readonly BackendRecord[]>;
  readonly records: readonly BackendRecord[];

  constructor(records: readonly BackendRecord[]) {
    this.records = Object.freeze([...records]);
    const byId = new Map<string, BackendRecord[]>();
    for (const record of records) byId.set(record.id, [...(byId.get(record.id) ?? []), record]);
    for (const list of byId.values()) list.sort((a, b) => compareVersions(b.version, a.version));
    this.#byId = byId;
  }

  /** The registry of a node folder; empty when the node has published no capability yet. */
  static load(dir: string): CapabilityBackends {
    const path = join(dir, BACKENDS_FILE);
    if (!existsSync(path)) return new CapabilityBackends([]);
    let file: BackendsFile;
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as BackendsFile;
    } catch (err) {
      throw new MeshError('STORE_CORRUPTED', `${BACKENDS_FILE} is not valid JSON`, { cause: err });
    }
    if (file.formatVersion !== 1 || !Array.isArray(file.backends))
      throw new MeshError('STORE_CORRUPTED', `${BACKENDS_FILE} is not a backend registry of format 1`);
    return new CapabilityBackends(file.backends);
  }

  /** Modification time of the registry file (0 when absent), to notice a publish by another process. */
  static stamp(dir: string): number {
    const path = join(dir, BACKENDS_FILE);
    return existsSync(path) ? statSync(path).mtimeMs : 0;
  }

  /**
   * The backend of `<cluster>/<city>/<org>/<name>[@version]`: that version, or the highest.
   *
   * @throws MeshError `INVALID_IDENTIFIER` for a malformed name, `CAPABILITY_NOT_FOUND` when none is registered
   */
  find(name: string): BackendRecord {
    const ref = parseResourceId(name, 'capability');
    const unversioned = `${ref.cluster}/${ref.city}/${ref.org}/${ref.name}`;
    const versions = this.#byId.get(unversioned) ?? [];
    const found = ref.version === undefined ? versions[0] : versions.find((r) => r.version === ref.version);
    if (found === undefined)
      throw new MeshError('CAPABILITY_NOT_FOUND', `no capability ${ref.id} is served by this node`, {
        details: { id: unversioned, version: ref.version ?? null },
      });
    return found;
  }

  /** A registry with these records added, replacing those of the same id and version. */
  with(records: readonly BackendRecord[]): CapabilityBackends {
    const key = (r: BackendRecord) => `${r.id}@${r.version}`;
    const incoming = new Map(records.map((r) => [key(r), r]));
    // Replace in place, so publishing the same manifest again leaves the file byte-identical.
    const kept = this.records.map((r) => incoming.get(key(r)) ?? r);
    const known = new Set(this.records.map(key));
    return new CapabilityBackends([...kept, ...records.filter((r) => !known.has(key(r)))]);
  }

  /** Writes the registry to a node folder atomically (readers see the old file or the new, never a mix). */
  save(dir: string): void {
    const file: BackendsFile = { formatVersion: 1, backends: this.records };
    writeFileAtomic(join(dir, BACKENDS_FILE), `${JSON.stringify(file, null, 2)}\n`);
  }
}
