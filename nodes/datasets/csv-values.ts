import type { JsonObject, JsonValue } from '../../common/stores/json.js';

const INTEGER = /^[+-]?(0|[1-9][0-9]*)$/;
const NUMBER = /^[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$|^[+-]?\.[0-9]+$/;

/** How a column's cells become JSON values: the JSON types its property schema allows. */
export type ColumnTypes = readonly string[];

/** The property schemas of a record schema, by column name; empty when it declares none. */
export function columnTypesOf(schema: JsonObject): ReadonlyMap<string, ColumnTypes> {
  const properties = schema.properties;
  const out = new Map<string, ColumnTypes>();
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return out;
  for (const [name, property] of Object.entries(properties as JsonObject)) {
    if (property === null || typeof property !== 'object' || Array.isArray(property)) continue;
    const type = (property as JsonObject).type;
    const types =
      typeof type === 'string' ? [type] : Array.isArray(type) ? type.filter((t) => typeof t === 'string') : [];
    out.set(name, types as string[]);
  }
  return out;
}

/** A cell that cannot become any type its column allows. */
export class CellError extends Error {}

function convertAs(type: string, cell: string): JsonValue | undefined {
  switch (type) {
    case 'integer': {
      if (!INTEGER.test(cell)) return undefined;
      const n = Number(cell);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'number': {
      if (!NUMBER.test(cell)) return undefined;
      const n = Number(cell);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'boolean': {
      const lower = cell.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : undefined;
    }
    case 'null':
      return cell === 'null' ? null : undefined;
    case 'object':
    case 'array':
      try {
        const parsed = JSON.parse(cell) as JsonValue;
        const isArray = Array.isArray(parsed);
        const ok = type === 'array' ? isArray : parsed !== null && typeof parsed === 'object' && !isArray;
        return ok ? parsed : undefined;
      } catch {
        return undefined;
      }
    case 'string':
      return cell;
    default:
      return undefined;
  }
}

// Narrow types first, so "12" in an ["integer","string"] column is the number 12.
const PRECEDENCE = ['integer', 'number', 'boolean', 'null', 'object', 'array', 'string'];

/**
 * Converts one CSV cell to the JSON type its column's schema allows. A column the schema
 * does not type stays a string (the schema then decides whether it may appear).
 *
 * @throws CellError naming the expected type(s)
 */
export function convertCell(cell: string, types: ColumnTypes | undefined): JsonValue {
  if (types === undefined || types.length === 0) return cell;
  for (const type of PRECEDENCE) {
    if (!types.includes(type)) continue;
    const value = convertAs(type, cell);
    if (value !== undefined) return value;
  }
  const expected = types.length === 1 ? (types[0] as string) : `one of ${types.join(', ')}`;
  throw new CellError(
    `${JSON.stringify(cell.length > 64 ? `${cell.slice(0, 64)}…` : cell)} is not ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`,
  );
}

/**
 * Builds a record from a CSV row: empty cells are left out (absent, not `""`), so an
 * optional column may be blank and a required one left blank fails as missing.
 *
 * @throws CellError with the column named
 */
export function csvRowToRecord(
  header: readonly string[],
  row: readonly string[],
  types: ReadonlyMap<string, ColumnTypes>,
): Record<string, JsonValue> {
  const record: Record<string, JsonValue> = {};
  header.forEach((column, i) => {
    const cell = row[i] ?? '';
    if (cell === '') return;
    try {
      record[column] = convertCell(cell, types.get(column));
    } catch (err) {
      if (err instanceof CellError) throw new CellError(`column "${column}": ${err.message}`);
      throw err;
    }
  });
  return record;
}
