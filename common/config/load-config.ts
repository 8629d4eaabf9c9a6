import type { z } from 'zod';
import { MeshError } from '../errors/mesh-error.js';
import { type ConfigIssue, configIssuesFrom } from './config-issue.js';
import { type DeepReadonly, deepFreeze } from './deep-freeze.js';
import { readConfigSource } from './read-config-source.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The service the config is for (`trust-anchor`, `node`): named in every message. */
  readonly service: string;
}

/**
 * Validates a configuration once, up front, and returns it deeply frozen.
 *
 * `source` is a file path (`.yaml`, `.yml` or `.json`) or an already-parsed object.
 * `schema` should be built from `.strict()` objects, so that a misspelt key is an error
 * rather than a silently ignored setting. Cross-field checks (see `crossFieldChecks`) run
 * once every single field is valid.
 *
 * @throws MeshError `INVALID_CONFIG`: the message lists every issue with its path and
 *   rule; `details.path` and `details.rule` are those of the first issue,
 *   `details.issues` the count; `cause` carries the `ConfigIssue[]` as `{ issues }`
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  source: string | object,
  options: LoadConfigOptions,
): DeepReadonly<z.output<S>> {
  const { service } = options;
  const input = typeof source === 'string' ? readConfigSource(source, service) : source;
  const result = schema.safeParse(input);
  if (result.success) return deepFreeze(result.data);

  const issues = configIssuesFrom(result.error, schema, input);
  const first = issues[0] as ConfigIssue;
  const where = typeof source === 'string' ? ` ${source}` : '';
  const message = [
    `${service} config${where} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}):`,
    ...issues.map((issue) => `  - ${issue.message} [${issue.rule}]`),
  ].join('\n');
  const details: Record<string, string | number> = {
    service,
    path: first.path,
    rule: first.rule,
    issues: issues.length,
  };
  if (typeof source === 'string') details.source = source;
  throw new MeshError('INVALID_CONFIG', message, { details, cause: Object.freeze({ issues: Object.freeze(issues) }) });
}

/** Every issue of an `INVALID_CONFIG` error thrown by {@link loadConfig}; empty for any other error. */
export function configIssuesOf(err: unknown): readonly ConfigIssue[] {
  if (!(err instanceof MeshError) || err.code !== 'INVALID_CONFIG') return [];
  const cause = err.cause as { issues?: readonly ConfigIssue[] } | undefined;
  return cause?.issues ?? [];
}
