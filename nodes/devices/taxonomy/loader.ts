import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { type ConfigIssue, configIssuesFrom } from '../../../common/config/config-issue.js';
import { deepFreeze } from '../../../common/config/deep-freeze.js';
import { didYouMean } from '../../../common/config/did-you-mean.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { INDUSTRIES, type IndustryId, isIndustry } from '../../../common/ids/industry.js';
import { crossCheckTypes, tooFewTypes } from './checks.js';
import { type DeviceType, taxonomyFileSchema } from './schema.js';
import { buildTaxonomy, type Taxonomy } from './taxonomy.js';

/** The programme's floor: at least 100 device types in every industry. */
export const DEFAULT_MIN_TYPES_PER_INDUSTRY = 100;

/**
 * The files shipped with citymesh, read from disk when loaded: importing them as modules
 * would hold a second, raw copy of every type for the life of the process. bundled.ts
 * imports them only so that tsc copies them to `dist/`.
 */
const BUNDLED_DIR = fileURLToPath(new URL('./data/', import.meta.url));

export interface LoadTaxonomyOptions {
  /** A directory of `<industry-id>.json` files; default: the files shipped with citymesh. */
  readonly dir?: string;
  /** Already-read files by file name (`{ 'health.json': {...} }`), instead of `dir`. */
  readonly documents?: Readonly<Record<string, unknown>>;
  /** Fewest device types a file may hold; default {@link DEFAULT_MIN_TYPES_PER_INDUSTRY}. */
  readonly minTypesPerIndustry?: number;
  /** Whether every registered industry must have a file; default true. */
  readonly requireEveryIndustry?: boolean;
}

/** One problem of a taxonomy file; `message` starts with the file and the path. */
export interface TaxonomyIssue extends ConfigIssue {
  readonly file: string;
}

const INDUSTRY_IDS = INDUSTRIES.map((industry) => industry.id as string);

function readDirectory(dir: string, issues: TaxonomyIssue[]): Map<string, unknown> {
  const documents = new Map<string, unknown>();
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    try {
      documents.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      issues.push({ file, path: '', rule: 'json', message: `${file}: not valid JSON: ${reason}` });
    }
  }
  return documents;
}

type ParsedFile = z.output<typeof taxonomyFileSchema>;

function checkFile(document: unknown, minimum: number): { issues: ConfigIssue[]; parsed: ParsedFile | undefined } {
  const parsed = taxonomyFileSchema.safeParse(document);
  const issues = parsed.success ? [] : configIssuesFrom(parsed.error, taxonomyFileSchema, document);
  const raw = (document as { types?: unknown } | null)?.types;
  if (Array.isArray(raw)) {
    issues.push(...crossCheckTypes(raw));
    if (raw.length < minimum) issues.push(tooFewTypes(raw.length, minimum));
  }
  return { issues, parsed: parsed.success && issues.length === 0 ? parsed.data : undefined };
}

function fail(issues: readonly TaxonomyIssue[]): MeshError {
  const first = issues[0] as TaxonomyIssue;
  const message = [
    `device taxonomy is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}):`,
    ...issues.map((issue) => `  - ${issue.message} [${issue.rule}]`),
  ].join('\n');
  return new MeshError('INVALID_CONFIG', message, {
    details: {
      service: 'device taxonomy',
      file: first.file,
      path: first.path,
      rule: first.rule,
      issues: issues.length,
    },
    cause: Object.freeze({ issues: Object.freeze([...issues]) }),
  });
}

/**
 * Reads and validates the device taxonomy: one file per industry, named after the
 * industry id. Reports every problem of every file at once, each with its file and path.
 *
 * @throws MeshError `INVALID_CONFIG`; `configIssuesOf(err)` gives the {@link TaxonomyIssue}s
 */
export function loadTaxonomy(options: LoadTaxonomyOptions = {}): Taxonomy {
  const minimum = options.minTypesPerIndustry ?? DEFAULT_MIN_TYPES_PER_INDUSTRY;
  const issues: TaxonomyIssue[] = [];
  const documents =
    options.dir === undefined && options.documents !== undefined
      ? new Map(Object.entries(options.documents))
      : readDirectory(options.dir ?? BUNDLED_DIR, issues);

  const byIndustry = new Map<IndustryId, readonly DeviceType[]>();
  for (const [file, document] of documents) {
    const industry = file.replace(/\.json$/, '');
    if (!file.endsWith('.json') || !isIndustry(industry)) {
      const suggestion = didYouMean(industry, INDUSTRY_IDS);
      const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}.json"?)`;
      const text = `${file}: file name is not <industry-id>.json of a registered industry${hint}`;
      issues.push({ file, path: '', rule: 'file-name', message: text });
    }
    const checked = checkFile(document, minimum);
    for (const issue of checked.issues) issues.push({ ...issue, file, message: `${file}: ${issue.message}` });
    if (checked.parsed !== undefined && isIndustry(industry)) {
      byIndustry.set(
        industry,
        checked.parsed.types.map((type) => deepFreeze({ industry, ...type }) as DeviceType),
      );
    }
  }
  if (options.requireEveryIndustry ?? true) {
    for (const id of INDUSTRY_IDS) {
      const file = `${id}.json`;
      if (!documents.has(file) && !issues.some((issue) => issue.file === file)) {
        issues.push({
          file,
          path: '',
          rule: 'missing-file',
          message: `${file}: missing: industry ${id} has no taxonomy`,
        });
      }
    }
  }
  if (issues.length > 0) throw fail(issues);
  return buildTaxonomy(byIndustry);
}

let bundled: Taxonomy | undefined;

/** The taxonomy shipped with citymesh, validated on first use and cached. */
export function defaultTaxonomy(): Taxonomy {
  bundled ??= loadTaxonomy();
  return bundled;
}

/**
 * The taxonomy for a long-running process, loaded and validated on its first use: a node
 * never asked about devices does not hold it (1.4 MB of heap, 100 ms to validate).
 * Whether every industry has its file is checked now, so an installation missing one
 * fails at start; a file that does not validate fails each call that needs the taxonomy,
 * with {@link loadTaxonomy}'s message.
 *
 * @param options.dir default: the files shipped with citymesh ({@link defaultTaxonomy})
 * @throws MeshError `INVALID_CONFIG` when an industry's file is missing
 */
export function deferredTaxonomy(options: { readonly dir?: string } = {}): Taxonomy {
  const dir = options.dir ?? BUNDLED_DIR;
  let present: Set<string>;
  try {
    present = new Set(readdirSync(dir));
  } catch {
    present = new Set();
  }
  const missing = INDUSTRY_IDS.filter((id) => !present.has(`${id}.json`));
  if (missing.length > 0) {
    throw fail(
      missing.map((id) => {
        const file = `${id}.json`;
        return {
          file,
          path: '',
          rule: 'missing-file',
          message: `${file}: missing from ${dir}: industry ${id} has no taxonomy`,
        };
      }),
    );
  }
  let loaded: Taxonomy | undefined;
  const taxonomy = (): Taxonomy => {
    if (options.dir === undefined) return defaultTaxonomy();
    loaded ??= loadTaxonomy({ dir });
    return loaded;
  };
  return Object.freeze({
    industries: () => taxonomy().industries(),
    types: (industry: string) => taxonomy().types(industry),
    type: (industry: string, typeId: string) => taxonomy().type(industry, typeId),
    find: (industry: string, typeId: string) => taxonomy().find(industry, typeId),
    get size() {
      return taxonomy().size;
    },
  });
}
