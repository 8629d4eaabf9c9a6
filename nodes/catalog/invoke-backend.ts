import { canonicalize } from '../../common/canonical-json.js';
import { isMeshError, MeshError } from '../../common/errors/mesh-error.js';
import { getCity } from '../../common/ids/clusters.js';
import type { JsonValue } from '../../common/stores/json.js';
import type { RecordStore } from '../../common/stores/record-store.js';
import { type RecordSchemaCache, recordSchemas } from '../datasets/record-schema.js';
import { type BackendRecord, CapabilityBackends } from './backend-registry.js';
import { BUILTIN_HANDLERS } from './builtins/index.js';

/** Largest request accepted by default (bytes of JSON). */
export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;

/** What invoking a backend uses. */
export interface InvokeComponents {
  /** The node's records, for built-ins that read a dataset. */
  readonly records: RecordStore;
  readonly node: { readonly cluster: string; readonly city: string; readonly cityRegion?: string };
  /** Injected for tests; the global `fetch` by default. */
  readonly fetch?: typeof fetch;
  readonly schemas?: RecordSchemaCache;
  readonly maxRequestBytes?: number;
}

/** Calls a capability by name with a JSON request and resolves to its canonical JSON answer. */
export type InvokeBackend = (name: string, requestJson: string) => Promise<string>;

const unavailable = (id: string, why: string, details: Record<string, string | number> = {}) =>
  // The upstream URL is internal to the city: it is never part of a message that may travel.
  new MeshError('PEER_UNAVAILABLE', `capability ${id}: the upstream service ${why}`, { details: { id, ...details } });

async function readCapped(res: Response, record: BackendRecord, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  const tooLarge = () =>
    new MeshError('INTERNAL', `capability ${record.id}: the upstream answer is larger than ${max} bytes`, {
      details: { id: record.id, maxResponseBytes: max },
    });
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body === null) return '';
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    // Stop reading at the cap: an upstream must not be able to exhaust the node's memory.
    if (size > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function callUpstream(record: BackendRecord, body: string, fetchFn: typeof fetch): Promise<JsonValue> {
  if (record.backend.kind !== 'http') throw new TypeError('callUpstream: not an http backend');
  const { url, timeoutMs, maxResponseBytes } = record.backend;
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  try {
    const res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
      signal,
      redirect: 'error',
    });
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 400 || res.status === 422)
        throw new MeshError(
          'MALFORMED_REQUEST',
          `capability ${record.id}: the upstream service refused the request (HTTP ${res.status})`,
          {
            details: { id: record.id, status: res.status },
          },
        );
      throw unavailable(record.id, `answered HTTP ${res.status}`, { status: res.status });
    }
    text = await readCapped(res, record, maxResponseBytes);
  } catch (err) {
    if (isMeshError(err)) throw err;
    if (signal.aborted) throw unavailable(record.id, `did not answer within ${timeoutMs} ms`, { timeoutMs });
    throw unavailable(record.id, 'could not be reached');
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new MeshError('INTERNAL', `capability ${record.id}: the upstream answer is not JSON`, {
      details: { id: record.id },
    });
  }
}

/**
 * Invokes a capability's backend: checks the request (size, JSON, the capability's request
 * schema), then runs the built-in handler or POSTs the request to the upstream endpoint
 * with its timeout and response size cap.
 *
 * @param name `<cluster>/<city>/<org>/<name>[@version]`; without a version, the highest registered
 * @returns the answer as RFC 8785 canonical JSON
 * @throws MeshError `CAPABILITY_NOT_FOUND`, `MALFORMED_REQUEST` (too large, not JSON, or
 *   refused by the upstream), `SCHEMA_VIOLATION` (request does not fit the schema),
 *   `PEER_UNAVAILABLE` (upstream timed out, unreachable or failed), `INTERNAL` (upstream
 *   answer too large or not JSON; a built-in failed)
 */
export async function invokeBackend(
  backends: CapabilityBackends,
  name: string,
  requestJson: string,
  components: InvokeComponents,
): Promise<string> {
  const record = backends.find(name);
  const maxRequest = components.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  if (Buffer.byteLength(requestJson, 'utf8') > maxRequest)
    throw new MeshError('MALFORMED_REQUEST', `request to ${record.id} is larger than ${maxRequest} bytes`, {
      details: { id: record.id, maxRequestBytes: maxRequest },
    });
  let input: JsonValue;
  try {
    input = JSON.parse(requestJson) as JsonValue;
  } catch (err) {
    throw new MeshError('MALFORMED_REQUEST', `request to ${record.id} is not JSON: ${(err as Error).message}`, {
      details: { id: record.id },
    });
  }
  const validator = (components.schemas ?? recordSchemas).get({
    id: record.id,
    version: record.version,
    schema: record.requestSchema,
  });
  const why = validator.check(input);
  if (why !== undefined)
    throw new MeshError(
      'SCHEMA_VIOLATION',
      `request to ${record.id}@${record.version} does not fit its schema: ${why}`,
      {
        details: { id: record.id, version: record.version },
      },
    );

  if (record.backend.kind === 'http')
    return canonicalize(await callUpstream(record, canonicalize(input), components.fetch ?? fetch));
  const handler = BUILTIN_HANDLERS.get(record.backend.handler);
  if (handler === undefined)
    throw new MeshError(
      'INTERNAL',
      `capability ${record.id}: built-in handler "${record.backend.handler}" is not in this build`,
    );
  const { cluster, city } = components.node;
  try {
    const output = await handler.handle(input, {
      records: components.records,
      cluster,
      city,
      cityRegion: components.node.cityRegion ?? getCity(city).region,
      ...(record.backend.dataset === undefined ? {} : { dataset: record.backend.dataset }),
    });
    return canonicalize(output);
  } catch (err) {
    if (isMeshError(err)) throw err;
    throw new MeshError('INTERNAL', `capability ${record.id}: built-in "${handler.name}" failed`, { cause: err });
  }
}

/**
 * An {@link InvokeBackend} bound to a node folder. It rereads the backend registry when
 * the file changes, so a `catalog publish` takes effect in a running node.
 */
export function createBackendInvoker(init: InvokeComponents & { readonly dir: string }): InvokeBackend {
  let stamp = -1;
  let backends = new CapabilityBackends([]);
  return async (name, requestJson) => {
    const now = CapabilityBackends.stamp(init.dir);
    if (now !== stamp) {
      backends = CapabilityBackends.load(init.dir);
      stamp = now;
    }
    return invokeBackend(backends, name, requestJson, init);
  };
}
