import { type CrossFieldCheck, type CrossFieldViolation, crossFieldChecks } from '../../common/config/cross-field.js';
import { didYouMean } from '../../common/config/did-you-mean.js';
import { isMeshError } from '../../common/errors/mesh-error.js';
import { contains, levelOf } from '../../common/ids/region.js';
import { RESOURCE_SEGMENT_PATTERN } from '../../common/ids/resource-id.js';
import type { JsonObject } from '../../common/stores/json.js';
import { compileRecordSchema } from '../datasets/record-schema.js';
import { BUILTIN_HANDLERS } from './builtins/index.js';
import type { ManifestCapability, ManifestDocument } from './manifest-schema.js';

type Check = CrossFieldCheck<ManifestDocument>;
type Entry = {
  list: 'datasets' | 'capabilities';
  index: number;
  entry: ManifestDocument['datasets'][number] | ManifestCapability;
};

const entriesOf = (doc: ManifestDocument): Entry[] => [
  ...doc.datasets.map((entry, index) => ({ list: 'datasets' as const, index, entry })),
  ...doc.capabilities.map((entry, index) => ({ list: 'capabilities' as const, index, entry })),
];

const forEachEntry =
  (fn: (e: Entry) => CrossFieldViolation | undefined | (CrossFieldViolation | undefined)[]) =>
  (doc: ManifestDocument): CrossFieldViolation[] =>
    entriesOf(doc)
      .flatMap((e) => fn(e))
      .filter((v): v is CrossFieldViolation => v !== undefined);

function schemaProblem(schema: JsonObject): string | undefined {
  try {
    compileRecordSchema(schema);
    return undefined;
  } catch (err) {
    if (!isMeshError(err)) throw err;
    return err.message;
  }
}

function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http or https URL';
  // Credentials in the URL would end up in logs and error messages; the upstream is internal anyway.
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry a user name or password';
  return undefined;
}

function backendViolations({ list, index, entry }: Entry): CrossFieldViolation[] {
  if (list !== 'capabilities') return [];
  const { backend, schema } = entry as ManifestCapability;
  const at = (...path: string[]) => [list, index, 'backend', ...path];
  const out: CrossFieldViolation[] = [];
  if ((backend.builtin === undefined) === (backend.url === undefined))
    return [{ path: at(), message: `needs exactly one of "builtin" or "url"` }];
  if (backend.builtin !== undefined) {
    const handler = BUILTIN_HANDLERS.get(backend.builtin);
    if (handler === undefined) {
      const suggestion = didYouMean(backend.builtin, [...BUILTIN_HANDLERS.keys()]);
      const hint =
        suggestion === undefined
          ? `; one of ${[...BUILTIN_HANDLERS.keys()].join(', ')}`
          : ` (did you mean "${suggestion}"?)`;
      return [{ path: at('builtin'), message: `no built-in handler "${backend.builtin}"${hint}` }];
    }
    if (handler.needsDataset && backend.dataset === undefined)
      out.push({ path: at(), message: `built-in "${handler.name}" needs "dataset": <org>/<name>` });
    if (!handler.needsDataset && backend.dataset !== undefined)
      out.push({ path: at('dataset'), message: `built-in "${handler.name}" reads no dataset` });
    if (backend.dataset !== undefined) {
      const parts = backend.dataset.split('/');
      if (parts.length !== 2 || !parts.every((p) => RESOURCE_SEGMENT_PATTERN.test(p)))
        out.push({ path: at('dataset'), message: `must be <org>/<name> of a dataset of this city` });
    }
    for (const key of ['timeoutMs', 'maxResponseBytes'] as const)
      if (backend[key] !== undefined) out.push({ path: at(key), message: `applies to an upstream "url" only` });
    return out;
  }
  const problem = urlProblem(backend.url as string);
  if (problem !== undefined) out.push({ path: at('url'), message: `${problem}` });
  if (schema === undefined)
    out.push({
      path: [list, index, 'schema'],
      message: `a capability with an upstream "url" needs its request schema`,
    });
  if (backend.dataset !== undefined) out.push({ path: at('dataset'), message: `applies to a built-in only` });
  return out;
}

/**
 * The named checks across a manifest's fields, for the node it is published on. They run
 * once every field is valid on its own.
 */
export function manifestChecks(target: {
  readonly cluster: string;
  readonly city: string;
  readonly cityRegion: string;
}) {
  const checks: Check[] = [
    {
      rule: 'own-city',
      check: (doc) =>
        doc.cluster !== target.cluster || doc.city !== target.city
          ? [
              {
                path: [doc.city !== target.city ? 'city' : 'cluster'],
                message: `the manifest is for ${doc.cluster}/${doc.city}, but this node serves ${target.cluster}/${target.city}; a city publishes only its own entries`,
              },
            ]
          : [],
    },
    {
      rule: 'not-empty',
      check: (doc) =>
        doc.datasets.length + doc.capabilities.length === 0
          ? [{ path: [], message: 'lists no datasets and no capabilities' }]
          : [],
    },
    {
      rule: 'unique-entry',
      check: (doc) => {
        const seen = new Map<string, string>();
        return forEachEntry(({ list, index, entry }) => {
          const key = `${entry.ownerOrg}/${entry.name}@${entry.version}`;
          const here = `${list}[${index}]`;
          const earlier = seen.get(`${entry.ownerOrg}/${entry.name}`);
          seen.set(`${entry.ownerOrg}/${entry.name}`, earlier ?? here);
          return earlier === undefined
            ? undefined
            : { path: [list, index, 'name'], message: `${key} is already listed at ${earlier}` };
        })(doc);
      },
    },
    {
      rule: 'region-in-city',
      check: forEachEntry(({ list, index, entry }) =>
        contains(target.cityRegion, entry.regionCode)
          ? undefined
          : {
              path: [list, index, 'regionCode'],
              message: `${entry.regionCode} is not within ${target.city} (${target.cityRegion})`,
            },
      ),
    },
    {
      rule: 'level',
      check: forEachEntry(({ list, index, entry }) => {
        const actual = levelOf(entry.regionCode);
        return entry.level === undefined || entry.level === actual
          ? undefined
          : {
              path: [list, index, 'level'],
              message: `"${entry.level}" does not match region ${entry.regionCode}, which is a ${actual}-level code (leave level out: it follows from the code)`,
            };
      }),
    },
    {
      rule: 'json-schema',
      check: forEachEntry(({ list, index, entry }) => {
        if (entry.schema === undefined) return undefined;
        const schema = entry.schema as JsonObject;
        const at = { path: [list, index, 'schema'] };
        if (list === 'datasets' && schema.type !== 'object')
          return { ...at, message: `a record schema must have "type": "object"` };
        const problem = schemaProblem(schema);
        return problem === undefined ? undefined : { ...at, message: `${problem}` };
      }),
    },
    { rule: 'backend', check: forEachEntry(backendViolations) },
  ];
  return crossFieldChecks(checks);
}
