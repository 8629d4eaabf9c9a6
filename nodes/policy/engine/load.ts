import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { policyInvalid } from './parse-rules.js';
import { buildSnapshot, type PolicySnapshot, type PolicySource, type PolicySources } from './snapshot.js';

export const MODEL_FILE = 'model.conf';
export const SAMPLES_FILE = 'samples.yaml';
/** Rule files of a set: every `*.csv`, read in name order. */
export const RULE_FILE_SUFFIX = '.csv';

export interface LoadOptions {
  /**
   * The Casbin model. Default: the set's own `model.conf` if it has one, else the
   * `model.conf` two folders up (`policies/sets/<set>/` → `policies/model.conf`).
   */
  readonly modelFile?: string;
}

function read(path: string, name: string): PolicySource {
  return { name, path, text: readFileSync(path, 'utf8') };
}

/**
 * Reads a policy set folder: its rule files, its samples and the model.
 *
 * @throws MeshError `POLICY_INVALID` when the folder, the model, the samples or any rule file is missing
 */
export function readPolicySet(dir: string, options: LoadOptions = {}): PolicySources {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw policyInvalid([{ file: dir, line: 0, message: 'no such policy set folder' }], 'parse');
  }
  const own = join(dir, MODEL_FILE);
  const modelPath = options.modelFile ?? (existsSync(own) ? own : resolve(dir, '..', '..', MODEL_FILE));
  if (!existsSync(modelPath)) {
    throw policyInvalid([{ file: modelPath, line: 0, message: 'the Casbin model file is missing' }], 'model');
  }
  const names = readdirSync(dir)
    .filter((name) => name.endsWith(RULE_FILE_SUFFIX) && statSync(join(dir, name)).isFile())
    .sort();
  if (names.length === 0) {
    throw policyInvalid(
      [{ file: dir, line: 0, message: `a policy set has at least one *${RULE_FILE_SUFFIX} rule file` }],
      'parse',
    );
  }
  const samplesPath = join(dir, SAMPLES_FILE);
  if (!existsSync(samplesPath)) {
    throw policyInvalid([{ file: samplesPath, line: 0, message: 'every policy set ships its samples' }], 'sample');
  }
  return {
    model: read(modelPath, MODEL_FILE),
    ruleFiles: names.map((name) => read(join(dir, name), name)),
    samples: read(samplesPath, SAMPLES_FILE),
  };
}

/**
 * Reads and validates a policy set into a snapshot (nothing is swapped: see PolicyEngine).
 *
 * @throws MeshError `POLICY_INVALID` as {@link readPolicySet} and {@link buildSnapshot}
 */
export async function loadPolicySnapshot(dir: string, options: LoadOptions = {}): Promise<PolicySnapshot> {
  return buildSnapshot(readPolicySet(dir, options));
}
