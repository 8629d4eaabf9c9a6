/**
 * A value and everything reachable from it, read-only. Primitives (branded ones too) stay
 * as they are; the mapped type keeps arrays arrays and tuples tuples.
 */
export type DeepReadonly<T> = T extends string | number | boolean | bigint | symbol | null | undefined
  ? T
  : T extends (...args: never[]) => unknown
    ? T
    : { readonly [K in keyof T]: DeepReadonly<T[K]> };

/**
 * Freezes `value` and every object and array inside it, so a loaded config cannot be
 * changed by whoever holds it after validation (the checks would no longer hold).
 */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value as DeepReadonly<T>;
}
