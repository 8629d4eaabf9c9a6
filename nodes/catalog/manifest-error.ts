import type { ConfigIssue } from '../../common/config/config-issue.js';
import { MeshError } from '../../common/errors/mesh-error.js';

const ENTRY_PATH = /^(datasets|capabilities)\[(\d+)\]/;

/** `dataset "bus-stops"` for an issue inside an entry, by its name when it has one; else undefined. */
function entryOf(path: string, input: unknown): string | undefined {
  const match = ENTRY_PATH.exec(path);
  if (match === null) return undefined;
  const [, list, index] = match as unknown as [string, 'datasets' | 'capabilities', string];
  const kind = list === 'datasets' ? 'dataset' : 'capability';
  const entries = (input as Record<string, unknown> | null)?.[list];
  const name = Array.isArray(entries) ? (entries[Number(index)] as { name?: unknown } | undefined)?.name : undefined;
  return typeof name === 'string' && name !== '' ? `${kind} "${name}"` : `${kind} #${Number(index) + 1}`;
}

/**
 * The `MANIFEST_INVALID` error for a list of issues: one line per issue naming the
 * entry (by name) and the field (by path), so the data office can find each in the file.
 * `details` carries the first issue's `entry`, `field` and `rule`; `cause` all issues.
 */
export function manifestError(source: string | undefined, input: unknown, issues: readonly ConfigIssue[]): MeshError {
  const where = source === undefined ? 'manifest' : `manifest ${source}`;
  const lines = issues.map((issue) => {
    const entry = entryOf(issue.path, input);
    return `  - ${entry === undefined ? '' : `${entry}: `}${issue.message} [${issue.rule}]`;
  });
  const first = issues[0] as ConfigIssue;
  return new MeshError(
    'MANIFEST_INVALID',
    [`${where} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}):`, ...lines].join('\n'),
    {
      details: {
        source: source ?? null,
        entry: entryOf(first.path, input) ?? null,
        field: first.path,
        rule: first.rule,
        issues: issues.length,
      },
      cause: Object.freeze({ issues: Object.freeze([...issues]) }),
    },
  );
}

/** Every issue of a `MANIFEST_INVALID` error; empty for any other error. */
export function manifestIssuesOf(err: unknown): readonly ConfigIssue[] {
  if (!(err instanceof MeshError) || err.code !== 'MANIFEST_INVALID') return [];
  return (err.cause as { issues?: readonly ConfigIssue[] } | undefined)?.issues ?? [];
}
