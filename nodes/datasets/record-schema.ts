import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { JsonObject } from '../../common/stores/json.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext its default import is the module object.
const addFormats = ((formatsModule as unknown as { default?: unknown }).default ??
  formatsModule) as unknown as typeof formatsModule.default;

/** Checks one value against a compiled record schema. */
export interface RecordValidator {
  /** Undefined when the value fits, else why not (`/age: must be integer`). */
  check(value: unknown): string | undefined;
  /** The schema it was compiled from. */
  readonly schema: JsonObject;
}

function describeError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '' : `${error.instancePath}: `;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${at}missing required property "${String(params.missingProperty)}"`;
    case 'additionalProperties':
      return `${at}unknown property "${String(params.additionalProperty)}"`;
    case 'enum':
      return `${at}must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at}${error.message ?? error.keyword}`;
  }
}

let ajvInstance: Ajv2020 | undefined;

/** One instance for the process: creating one (meta-schemas, formats) costs far more than a compile. */
function sharedAjv(): Ajv2020 {
  if (ajvInstance === undefined) {
    // Union types (`["string", "null"]`) are plain JSON Schema; strict mode would refuse them.
    ajvInstance = new Ajv2020({
      strict: true,
      allowUnionTypes: true,
      allErrors: false,
      coerceTypes: false,
      useDefaults: false,
    });
    addFormats(ajvInstance);
  }
  return ajvInstance;
}

/**
 * Compiles a JSON Schema (draft 2020-12, the protocol's dialect) in ajv's strict mode,
 * so a typo in a keyword is an error at publish time instead of a constraint silently
 * not applied to every record. Formats (`date-time`, `email`, ...) come from ajv-formats.
 *
 * @throws MeshError `SCHEMA_VIOLATION` when the schema itself is invalid
 */
export function compileRecordSchema(schema: JsonObject): RecordValidator {
  const ajv = sharedAjv();
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema as object);
  } catch (err) {
    throw new MeshError('SCHEMA_VIOLATION', `the record schema is invalid: ${(err as Error).message}`, { cause: err });
  } finally {
    // Compiled functions keep working without the registration; dropping it lets two
    // versions of a dataset share a `$id`, and keeps the instance from growing.
    ajv.removeSchema(schema as object);
  }
  return Object.freeze({
    schema,
    check(value: unknown): string | undefined {
      if (validate(value)) return undefined;
      const first = validate.errors?.[0];
      return first === undefined ? 'does not match the schema' : describeError(first);
    },
  });
}

/**
 * Caches compiled schemas per `<id>@<version>`: a catalog version is immutable, so its
 * schema is compiled once however many imports and checks use it.
 */
export class RecordSchemaCache {
  readonly #compiled = new Map<string, RecordValidator>();
  readonly #limit: number;

  constructor(limit = 1000) {
    this.#limit = limit;
  }

  /** The validator of one entry version, compiled on first use. */
  get(entry: { readonly id: string; readonly version: string; readonly schema: JsonObject }): RecordValidator {
    const key = `${entry.id}@${entry.version}`;
    const hit = this.#compiled.get(key);
    if (hit !== undefined) return hit;
    const compiled = compileRecordSchema(entry.schema);
    // Oldest first out: Map iteration follows insertion order.
    if (this.#compiled.size >= this.#limit) this.#compiled.delete(this.#compiled.keys().next().value as string);
    this.#compiled.set(key, compiled);
    return compiled;
  }
}

/** The process-wide cache the import functions use unless given another. */
export const recordSchemas = new RecordSchemaCache();
