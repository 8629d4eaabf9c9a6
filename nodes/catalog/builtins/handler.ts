import type { JsonObject, JsonValue } from '../../../common/stores/json.js';
import type { RecordStore } from '../../../common/stores/record-store.js';

/** What a built-in handler may use: the node's own records and where it serves. */
export interface BuiltinContext {
  readonly records: RecordStore;
  readonly cluster: string;
  readonly city: string;
  /** GB/T 2260 code of the serving city. */
  readonly cityRegion: string;
  /** The dataset a data-backed handler reads (`<cluster>/<city>/<org>/<name>`), from its backend entry. */
  readonly dataset?: string;
}

/** A capability implemented inside the node. */
export interface BuiltinHandler {
  readonly name: string;
  readonly description: string;
  /** True when the handler reads a dataset named by the manifest's `backend.dataset`. */
  readonly needsDataset: boolean;
  /** The request schema a manifest gets when it gives none. */
  readonly inputSchema: JsonObject;
  /** Input has already been checked against the capability's request schema. */
  handle(input: JsonValue, context: BuiltinContext): Promise<JsonValue>;
}
