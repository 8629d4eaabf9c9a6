import type { z } from 'zod';

/** The parts of a zod 4 schema definition walked here; see zod's `$ZodTypeDef`. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The object schemas `schema` may stand for at this point of `input` (unwrapping defaults, unions, ...). */
function objectsAt(schema: z.ZodType, input: unknown): SchemaDef[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return [def];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return def.innerType ? objectsAt(def.innerType, input) : [];
    case 'pipe':
      return def.in ? objectsAt(def.in, input) : [];
    case 'lazy':
      return def.getter ? objectsAt(def.getter(), input) : [];
    case 'intersection':
      return [...(def.left ? objectsAt(def.left, input) : []), ...(def.right ? objectsAt(def.right, input) : [])];
    case 'union': {
      const options = (def.options ?? []).flatMap((option) => objectsAt(option, input));
      // For a discriminated union, suggest only the keys of the branch the input chose.
      const tag = def.discriminator;
      if (tag !== undefined && isRecord(input)) {
        const chosen = options.filter((option) => {
          return option.shape?.[tag]?.safeParse(input[tag]).success === true;
        });
        if (chosen.length > 0) return chosen;
      }
      return options;
    }
    default:
      return [];
  }
}

/** The schema of one child: an object's property, an array's element, a record's value. */
function childOf(schema: z.ZodType, key: PropertyKey, input: unknown): z.ZodType | undefined {
  for (const def of objectsAt(schema, input)) {
    const child = def.shape?.[String(key)];
    if (child !== undefined) return child;
  }
  const def = defOf(schema);
  if (def.type === 'array' && def.element) return def.element;
  if (def.type === 'record' && def.valueType) return def.valueType;
  for (const inner of [def.innerType, def.in]) {
    if (inner !== undefined) return childOf(inner, key, input);
  }
  return undefined;
}

/**
 * The keys the schema allows for the object at `path` of `input`: what an unknown key
 * there should be compared with to suggest a fix. Empty when the schema cannot say.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  let current: z.ZodType | undefined = schema;
  let value = input;
  for (const key of path) {
    if (current === undefined) return [];
    current = childOf(current, key, value);
    value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  if (current === undefined) return [];
  return [...new Set(objectsAt(current, value).flatMap((def) => Object.keys(def.shape ?? {})))];
}
