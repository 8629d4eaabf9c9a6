import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { Stores } from '../../common/stores/index.js';
import { writeFileAtomic } from '../trust/node-files.js';
import { CLASSIFICATIONS, POLICY_ACTIONS, type Rule } from './engine/index.js';
import { type Activation, activatePolicySet } from './node-policy.js';
import { DEFAULT_SET, NODE_POLICY_DIR, shippedPoliciesDir, writeSetFolder } from './policy-sets.js';

/** The rule file of a set that holds its cross-city grants: what a city publishes. */
export const GRANTS_RULE_FILE = 'grants.csv';

/** The short form of one cross-city grant, as `citymesh grants add` takes it. */
const grantSchema = z
  .object({
    /** A member city, or `*` for every other member city. */
    city: z.string().regex(/^(\*|[a-z][a-z0-9-]{0,62})$/),
    /** A resource id, or a prefix ending in `*` (`jjj/beijing/transport/*`). */
    resource: z.string().regex(/^[a-z0-9*][a-z0-9._/*@-]{0,299}$/, 'must be a resource id or a prefix ending in *'),
    actions: z.array(z.enum(POLICY_ACTIONS)).min(1),
    maxClassification: z.enum(CLASSIFICATIONS),
    /** Only these purposes; any declared purpose when absent. */
    purposes: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/))
      .min(1)
      .optional(),
    /** The rule id; default `grant-<city>-<n>`. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
      .optional(),
  })
  .strict();

export type CityGrant = z.infer<typeof grantSchema>;

/** The rule line a grant becomes: an allow of the providing city's set, read by the same engine. */
export function grantRuleLine(grant: CityGrant, id: string): string {
  const cells = [
    id,
    'allow',
    grant.actions.join('|'),
    '*',
    grant.city === '*' ? '$other' : grant.city,
    '*',
    '*',
    '*',
    '*',
    '*',
    '*',
    '*',
    grant.resource,
    `<=${grant.maxClassification}`,
    grant.purposes?.join('|') ?? '*',
    '*',
  ];
  return `p, ${cells.join(', ')}`;
}

/**
 * Makes sure the node folder has its working copy of the policy set (`<dir>/policy/`): the
 * version in force, or the shipped default when the store has none yet.
 */
export async function ensureWorkingCopy(dir: string, stores: Stores): Promise<string> {
  const setDir = join(dir, NODE_POLICY_DIR);
  if (existsSync(setDir)) return setDir;
  const active = await stores.policies.active();
  const version = active === undefined ? undefined : await stores.policies.getVersion(active.version);
  if (version !== undefined) {
    writeSetFolder(setDir, version);
  } else {
    const shipped = join(shippedPoliciesDir(), 'sets', DEFAULT_SET);
    for (const name of ['baseline.csv', 'guards.csv', GRANTS_RULE_FILE, 'samples.yaml']) {
      const from = join(shipped, name);
      if (existsSync(from)) writeFileAtomic(join(setDir, name), readFileSync(from, 'utf8'));
    }
  }
  return setDir;
}

/**
 * Adds a cross-city grant to the node's set and activates the result. The file is put back
 * as it was when the set is refused (a sample that no longer holds, a duplicate id), so the
 * working copy never drifts from what is in force.
 *
 * @throws MeshError `POLICY_INVALID` naming the grant field, or the set's problem
 */
export async function addGrant(
  dir: string,
  stores: Stores,
  input: CityGrant,
  by: { subject: string; now: Date },
): Promise<Activation & { id: string }> {
  const checked = grantSchema.safeParse(input);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new MeshError('POLICY_INVALID', `grant ${issue.path.join('.')}: ${issue.message}`, {
      details: { field: issue.path.join('.') || 'grant', rule: 'parse' },
    });
  }
  const grant = checked.data;
  const setDir = await ensureWorkingCopy(dir, stores);
  const file = join(setDir, GRANTS_RULE_FILE);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const id = grant.id ?? nextGrantId(before, grant.city === '*' ? 'all' : grant.city);
  const comment = `# Added with \`citymesh grants add\` by ${by.subject} at ${by.now.toISOString()}`;
  writeFileAtomic(
    file,
    `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${comment}\n${grantRuleLine(grant, id)}\n`,
  );
  try {
    const activation = await activatePolicySet(stores.policies, setDir, {
      subject: by.subject,
      comment: `grants add ${id}`,
      now: by.now,
    });
    return { ...activation, id };
  } catch (err) {
    writeFileAtomic(file, before);
    throw err;
  }
}

function nextGrantId(text: string, who: string): string {
  let n = 1;
  while (new RegExp(`^p,\\s*grant-${who}-${n},`, 'm').test(text)) n++;
  return `grant-${who}-${n}`;
}

/** The grants of a version: the rules of its grants file. */
export function grantRules(rules: readonly Rule[]): readonly Rule[] {
  return rules.filter((r) => r.file === GRANTS_RULE_FILE);
}
