import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { PolicyVersion } from '../../common/stores/index.js';
import { writeFileAtomic } from '../trust/node-files.js';
import { MODEL_FILE, type PolicySources, readPolicySet, SAMPLES_FILE } from './engine/index.js';

/** A node folder's working copy of its city's policy set: what operators edit, then load. */
export const NODE_POLICY_DIR = 'policy';
/** The set every city starts from, shipped in `policies/sets/`. */
export const DEFAULT_SET = 'cluster-default';

/**
 * The shipped `policies/` folder. Found by walking up from this module, so it resolves the
 * same from the sources (tests) and from `dist/` (the installed command).
 */
export function shippedPoliciesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'policies');
    if (existsSync(join(candidate, MODEL_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('the shipped policies/ folder (with model.conf) was not found');
    dir = parent;
  }
}

/** The shipped model; a set without its own model.conf is read with it. */
export function shippedModelFile(): string {
  return join(shippedPoliciesDir(), MODEL_FILE);
}

/** Reads a set folder, with the shipped model unless the set brings its own. */
export function readSetFolder(dir: string): PolicySources {
  const own = join(dir, MODEL_FILE);
  return readPolicySet(dir, existsSync(own) ? {} : { modelFile: shippedModelFile() });
}

/** The files of a version as the store keeps them: `model.conf`, the rule files, `samples.yaml`. */
export function filesOf(sources: PolicySources): Record<string, string> {
  const files: Record<string, string> = { [MODEL_FILE]: sources.model.text };
  for (const file of sources.ruleFiles) files[file.name] = file.text;
  if (sources.samples !== undefined) files[SAMPLES_FILE] = sources.samples.text;
  return files;
}

/** The sources of a stored version, in the order a set folder is read. */
export function sourcesOf(version: PolicyVersion): PolicySources {
  const model = version.files[MODEL_FILE];
  if (model === undefined) {
    throw new MeshError('POLICY_INVALID', `policy version ${version.version} has no ${MODEL_FILE}`, {
      details: { rule: 'model', version: version.version },
    });
  }
  const samples = version.files[SAMPLES_FILE];
  return {
    model: { name: MODEL_FILE, text: model },
    ruleFiles: Object.keys(version.files)
      .filter((name) => name.endsWith('.csv'))
      .sort()
      .map((name) => ({ name, text: version.files[name]! })),
    ...(samples === undefined ? {} : { samples: { name: SAMPLES_FILE, text: samples } }),
  };
}

/** Lower-case hex SHA-256 over the files, by name: the digest a version record carries. */
export function digestOf(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\n${files[name]!.length}\n${files[name]}`);
  return hash.digest('hex');
}

/**
 * Writes a version's rule files and samples into a folder (the model stays shipped unless
 * the version's differs), replacing the rule files that were there: `policy export`.
 */
export function writeSetFolder(dir: string, version: PolicyVersion): void {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) if (name.endsWith('.csv')) rmSync(join(dir, name));
  const shipped = readSetFolder(join(shippedPoliciesDir(), 'sets', DEFAULT_SET)).model.text;
  for (const [name, text] of Object.entries(version.files)) {
    if (name === MODEL_FILE && text === shipped) continue;
    writeFileAtomic(join(dir, name), text);
  }
}
