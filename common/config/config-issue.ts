import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { knownKeysAt } from './known-keys.js';

/** One thing wrong with a configuration. */
export interface ConfigIssue {
  /** Dotted path of the offending value or key (`node.listen.prot`); `''` for the top level. */
  readonly path: string;
  /** Stable name of the rule broken: `unknown-key`, `required`, `type`, `min`, a named cross-field check, ... */
  readonly rule: string;
  /** Human-readable line, starting with the path: `node.listen: unknown key "prot" (did you mean "port"?)`. */
  readonly message: string;
}

const IDENTIFIER_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `node.listen.port`, `peers[2].url`, `labels["a.b"]`; `''` for the top level. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER_KEY.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

const shown = (path: string) => (path === '' ? '(top level)' : path);

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function list(values: readonly unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join(', ');
}

/** Rule and message (without path) for one zod issue other than an unknown key. */
function explain(issue: z.core.$ZodIssue, input: unknown): { rule: string; message: string } {
  switch (issue.code) {
    case 'invalid_type': {
      const value = valueAt(input, issue.path);
      if (value === undefined) return { rule: 'required', message: 'is required' };
      const expected = issue.expected === 'int' ? 'integer' : issue.expected;
      return {
        rule: 'type',
        message: `must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}, got ${describe(value)}`,
      };
    }
    case 'too_small': {
      const bound = `${issue.inclusive === false ? 'greater than' : 'at least'} ${issue.minimum}`;
      if (issue.origin === 'string') return { rule: 'min', message: `must have ${bound} character(s)` };
      if (issue.origin === 'array') return { rule: 'min', message: `must have ${bound} item(s)` };
      return { rule: 'min', message: `must be ${bound}` };
    }
    case 'too_big': {
      const bound = `${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}`;
      if (issue.origin === 'string') return { rule: 'max', message: `must have ${bound} character(s)` };
      if (issue.origin === 'array') return { rule: 'max', message: `must have ${bound} item(s)` };
      return { rule: 'max', message: `must be ${bound}` };
    }
    case 'invalid_value':
      return { rule: 'one-of', message: `must be one of ${list(issue.values)}` };
    case 'invalid_union':
      if (issue.discriminator !== undefined && 'options' in issue && issue.options !== undefined) {
        return { rule: 'one-of', message: `must be one of ${list(issue.options)}` };
      }
      return { rule: 'union', message: issue.message };
    case 'invalid_format':
      return {
        rule: issue.format,
        message: issue.pattern ? `must match ${issue.pattern}` : `must be a valid ${issue.format}`,
      };
    case 'custom': {
      const rule = issue.params?.rule;
      return { rule: typeof rule === 'string' ? rule : 'custom', message: issue.message };
    }
    default:
      return { rule: issue.code, message: issue.message };
  }
}

/**
 * Turns zod's issues into config issues: one per unknown key (with a suggestion taken
 * from the schema's known keys at that place), one per other issue. Unknown keys come
 * first: a misspelt key also makes the intended one "required", and the spelling is the fix.
 */
export function configIssuesFrom(error: z.ZodError, schema: z.ZodType, input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const at = formatConfigPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path, input);
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, known);
        issues.push({
          path: formatConfigPath([...issue.path, key]),
          rule: 'unknown-key',
          message: `${shown(at)}: unknown key ${JSON.stringify(key)}${suggestion === undefined ? '' : ` (did you mean ${JSON.stringify(suggestion)}?)`}`,
        });
      }
      continue;
    }
    const { rule, message } = explain(issue, input);
    issues.push({ path: at, rule, message: `${shown(at)}: ${message}` });
  }
  // Array.prototype.sort is stable, so each group keeps zod's order.
  return issues.sort((a, b) => Number(b.rule === 'unknown-key') - Number(a.rule === 'unknown-key'));
}
