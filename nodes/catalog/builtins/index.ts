import { airQualitySummary } from './air-quality-summary.js';
import type { BuiltinHandler } from './handler.js';
import { regionLookup } from './region-lookup.js';

export type { BuiltinContext, BuiltinHandler } from './handler.js';

/** The capabilities a node implements itself, by the name a manifest's `backend.builtin` gives. */
export const BUILTIN_HANDLERS: ReadonlyMap<string, BuiltinHandler> = new Map(
  [regionLookup, airQualitySummary].map((handler) => [handler.name, handler]),
);
