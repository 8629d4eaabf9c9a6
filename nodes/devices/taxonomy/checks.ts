import type { ConfigIssue } from '../../../common/config/config-issue.js';
import { didYouMean } from '../../../common/config/did-you-mean.js';
import { fieldSchema, type ParsedField, REF_PATTERNS, type SourceRef, sourceSchema, typeIdSchema } from './schema.js';
import { isKnownUnit, UNITS } from './units.js';

/**
 * The parts of one entry of `types` that pass the schema on their own: a type with one
 * broken field still has its other fields, id and source cross-checked, so one load
 * reports every problem.
 */
interface ValidParts {
  readonly id: string | undefined;
  readonly source: SourceRef | undefined;
  readonly fields: readonly { readonly k: number; readonly field: ParsedField }[];
}

const record = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

function validParts(entry: unknown): ValidParts {
  const raw = record(entry);
  const id = typeIdSchema.safeParse(raw.id);
  const source = sourceSchema.safeParse(raw.source);
  const fields: { k: number; field: ParsedField }[] = [];
  if (Array.isArray(raw.fields)) {
    raw.fields.forEach((value, k) => {
      const field = fieldSchema.safeParse(value);
      if (field.success) fields.push({ k, field: field.data });
    });
  }
  return { id: id.success ? id.data : undefined, source: source.success ? source.data : undefined, fields };
}

const issue = (path: string, rule: string, text: string): ConfigIssue => ({ path, rule, message: `${path}: ${text}` });
const quote = (value: unknown) => JSON.stringify(value);
const hint = (suggestion: string | undefined) =>
  suggestion === undefined ? '' : ` (did you mean ${quote(suggestion)}?)`;

function checkFields(at: string, fields: ValidParts['fields'], out: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  for (const { k, field } of fields) {
    const path = `${at}.fields[${k}]`;
    const first = seen.get(field.name);
    if (first !== undefined) {
      out.push(
        issue(`${path}.name`, 'unique-field', `duplicate field ${quote(field.name)} (first at fields[${first}])`),
      );
    } else {
      seen.set(field.name, k);
    }
    if (field.type === 'number' || field.type === 'integer') {
      if (!isKnownUnit(field.unit)) {
        const suggestion = didYouMean(field.unit, Object.keys(UNITS));
        out.push(issue(`${path}.unit`, 'known-unit', `unknown unit ${quote(field.unit)}${hint(suggestion)}`));
      }
      if (field.min > field.max) {
        out.push(issue(`${path}.max`, 'min-max', `max ${field.max} is below min ${field.min}`));
      }
      if (field.type === 'integer') {
        for (const bound of ['min', 'max'] as const) {
          if (!Number.isInteger(field[bound])) {
            out.push(issue(`${path}.${bound}`, 'integer-bound', `${bound} of an integer field must be an integer`));
          }
        }
      }
    }
    if (field.type === 'enum') {
      const unique = new Set(field.values);
      if (unique.size !== field.values.length) {
        const repeated = field.values.filter((value, i) => field.values.indexOf(value) !== i);
        out.push(issue(`${path}.values`, 'unique-values', `repeats ${[...new Set(repeated)].map(quote).join(', ')}`));
      }
      if (unique.size < 2) out.push(issue(`${path}.values`, 'enum-values', 'needs at least 2 different values'));
    }
  }
}

/**
 * The checks zod cannot express on one value: ids unique in the file, field names unique
 * in a type, `min <= max`, known units, distinct enum values, catalogue reference spelling.
 * `types` is the file's raw `types` array; the schema's own issues are reported elsewhere.
 */
export function crossCheckTypes(types: readonly unknown[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const ids = new Map<string, number>();
  types.forEach((entry, index) => {
    const { id, source, fields } = validParts(entry);
    const at = `types[${index}]`;
    const first = id === undefined ? undefined : ids.get(id);
    if (first !== undefined) {
      out.push(issue(`${at}.id`, 'unique-id', `duplicate id ${quote(id)} (first at types[${first}])`));
    } else if (id !== undefined) {
      ids.set(id, index);
    }
    const pattern = source === undefined ? undefined : REF_PATTERNS[source.catalogue];
    if (source !== undefined && pattern !== undefined && !pattern.test(source.ref)) {
      const text = `${quote(source.ref)} is not a ${source.catalogue} reference (must match ${pattern.source})`;
      out.push(issue(`${at}.source.ref`, 'ref-format', text));
    }
    checkFields(at, fields, out);
  });
  return out;
}

/** Issue for a file with fewer types than the loader requires. */
export function tooFewTypes(count: number, minimum: number): ConfigIssue {
  return issue('types', 'min-types', `has ${count} device type(s), at least ${minimum} required`);
}
