import { MeshError } from '../../../common/errors/mesh-error.js';
import { COLUMNS, type Column, parseCells, type Rule } from './columns.js';

/** One problem in a policy file, located for a person with an editor. */
export interface PolicyProblem {
  readonly file: string;
  readonly line: number;
  /** 1-based character column, when one cell is at fault. */
  readonly column?: number;
  readonly message: string;
}

/** Stop listing after this many: a wrong file usually fails on every line alike. */
const MAX_PROBLEMS = 20;

/** `file:line:column: message`; line 0 stands for the whole file. */
export function formatProblem(p: PolicyProblem): string {
  const at = p.line === 0 ? '' : `:${p.line}${p.column === undefined ? '' : `:${p.column}`}`;
  return `${p.file}${at}: ${p.message}`;
}

/** One `POLICY_INVALID` error listing every problem; details locate the first. */
export function policyInvalid(problems: readonly PolicyProblem[], kind: 'parse' | 'sample' | 'model'): MeshError {
  const first = problems[0];
  const shown = problems.slice(0, MAX_PROBLEMS).map(formatProblem);
  const more = problems.length > MAX_PROBLEMS ? `\n(and ${problems.length - MAX_PROBLEMS} more)` : '';
  return new MeshError('POLICY_INVALID', `policy set refused:\n${shown.join('\n')}${more}`, {
    details: {
      rule: kind,
      file: first?.file ?? null,
      line: first?.line ?? null,
      column: first?.column ?? null,
      problems: problems.length,
    },
  });
}

/** A bad cell, thrown out of `parseCells` to the line loop. */
class LocatedCell extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

interface Cell {
  readonly text: string;
  readonly column: number;
}

/** Splits on commas, remembering where each trimmed cell starts. */
function splitCells(line: string): Cell[] {
  const cells: Cell[] = [];
  let start = 0;
  for (const piece of line.split(',')) {
    const lead = piece.length - piece.trimStart().length;
    cells.push({ text: piece.trim(), column: start + lead + 1 });
    start += piece.length + 1;
  }
  return cells;
}

/**
 * Parses rule files (Casbin policy CSV: `p, <id>, <eft>, ...`, `#` comments), in the
 * order given. Rule ids are unique across all of them, since explanations, diffs and
 * audit records name rules by id alone.
 *
 * @throws MeshError `POLICY_INVALID` (details.rule `parse`) listing every problem as `file:line:column`
 */
export function parseRuleFiles(
  files: readonly { readonly name: string; readonly path?: string; readonly text: string }[],
): Rule[] {
  const rules: Rule[] = [];
  const problems: PolicyProblem[] = [];
  const seen = new Map<string, { file: string; line: number }>();
  for (const { name, path, text } of files) {
    // Problems name the path a person can open; rules keep the short name explanations cite.
    const file = path ?? name;
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = index + 1;
      if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
      const cells = splitCells(raw);
      const kind = cells[0]!;
      if (kind.text !== 'p') {
        problems.push({ file, line, column: kind.column, message: `a rule line starts with "p,", not "${kind.text}"` });
        return;
      }
      const values = cells.slice(1);
      if (values.length !== COLUMNS.length) {
        problems.push({
          file,
          line,
          message: `${values.length} columns, expected ${COLUMNS.length}: p, ${COLUMNS.join(', ')}`,
        });
        return;
      }
      // Casbin reads a cell as it stands, so a space inside one would mean something else there.
      const spaced = values.find((v) => /\s/.test(v.text) || v.text === '');
      if (spaced !== undefined) {
        const what = spaced.text === '' ? 'an empty cell (write * for any)' : `a space inside "${spaced.text}"`;
        problems.push({ file, line, column: spaced.column, message: `${COLUMNS[values.indexOf(spaced)]}: ${what}` });
        return;
      }
      const byColumn = Object.fromEntries(COLUMNS.map((c, i) => [c, values[i]!.text])) as Record<Column, string>;
      const located = (column: Column, message: string): never => {
        throw new LocatedCell(values[COLUMNS.indexOf(column)]!.column, `${column}: ${message}`);
      };
      try {
        const parsed = parseCells(byColumn, located);
        const before = seen.get(parsed.id);
        if (before !== undefined) {
          problems.push({
            file,
            line,
            column: values[0]!.column,
            message: `duplicate rule id "${parsed.id}" (first at ${before.file}:${before.line})`,
          });
          return;
        }
        seen.set(parsed.id, { file, line });
        rules.push(Object.freeze({ ...parsed, cells: Object.freeze(byColumn), file: name, line }));
      } catch (error) {
        if (!(error instanceof LocatedCell)) throw error;
        problems.push({ file, line, column: error.column, message: error.message });
      }
    });
  }
  if (problems.length > 0) throw policyInvalid(problems, 'parse');
  return rules;
}
