import type { Enforcer } from 'casbin';
import { sha256Canonical } from '../../../common/canonical-json.js';
import type { ErrorCode } from '../../../common/errors/index.js';
import { ENGINE_EFFECT, ENGINE_MATCHER, modelParts, referenceDecide, referenceEnforcer } from './casbin-reference.js';
import { COLUMNS, type Rule } from './columns.js';
import { type CompiledRule, compileRule } from './compile-rule.js';
import { describeRule, ruleLocation } from './describe.js';
import { type PolicyProblem, parseRuleFiles, policyInvalid } from './parse-rules.js';
import { checkSamples, parseSamples } from './samples.js';
import { type Shard, ShardIndex } from './shards.js';
import { DEFAULT_DENY, type PolicyDecision, type PolicyRequest } from './types.js';

export interface PolicySource {
  /** File name within the set (`base.csv`): what versions hash and explanations cite. */
  readonly name: string;
  /** Where it was read from, for error messages. */
  readonly path?: string;
  readonly text: string;
}

/** Everything a version is made of. */
export interface PolicySources {
  /** policies/model.conf */
  readonly model: PolicySource;
  /** The set's rule files, in the order their rules are read. */
  readonly ruleFiles: readonly PolicySource[];
  /** The set's samples.yaml; a set loaded from disk must have one. */
  readonly samples?: PolicySource;
}

const normalise = (text: string): string => text.replace(/\r\n?/g, '\n');

/**
 * The policy version: sha256 (base64url) of the canonical JSON of the model, every
 * rule file and the samples, by name, with line endings normalised so that a checkout
 * with CRLF hashes the same. Other files of the set (a README) are not part of it.
 */
export function policyVersionOf(sources: PolicySources): string {
  return sha256Canonical({
    model: normalise(sources.model.text),
    files: Object.fromEntries(sources.ruleFiles.map((f) => [f.name, normalise(f.text)])),
    samples: sources.samples === undefined ? null : normalise(sources.samples.text),
  });
}

const squeeze = (text: string): string => text.replace(/\s+/g, '');

/** The first line of the model that starts with `key =`, for locating a problem. */
function lineOf(text: string, key: string): number {
  return Math.max(1, text.split('\n').findIndex((l) => new RegExp(`^\\s*${key}\\s*=`).test(l)) + 1);
}

/** The model must declare exactly the request, columns, effect and matcher the engine evaluates. */
function checkModel(model: PolicySource): void {
  const file = model.path ?? model.name;
  let parts: ReturnType<typeof modelParts>;
  try {
    parts = modelParts(model.text);
  } catch (error) {
    throw policyInvalid([{ file, line: 1, message: `not a Casbin model: ${String(error)}` }], 'model');
  }
  const request = ['r_sub', 'r_obj', 'r_act', 'r_purpose', 'r_ctx'];
  const policy = COLUMNS.map((c) => `p_${c}`);
  const problems: PolicyProblem[] = [];
  if (parts.request.join() !== request.join()) {
    problems.push({ file, line: lineOf(model.text, 'r'), message: `r must be sub, obj, act, purpose, ctx` });
  }
  if (parts.policy.join() !== policy.join()) {
    problems.push({ file, line: lineOf(model.text, 'p'), message: `p must be ${COLUMNS.join(', ')}` });
  }
  if (squeeze(parts.effect) !== squeeze(ENGINE_EFFECT)) {
    problems.push({ file, line: lineOf(model.text, 'e'), message: 'the effect must be deny-overrides-allow' });
  }
  if (squeeze(parts.matcher) !== squeeze(ENGINE_MATCHER)) {
    problems.push({
      file,
      line: lineOf(model.text, 'm'),
      message:
        'the matcher is not the one the engine compiles (nodes/policy/engine/compile-rule.ts): change both together',
    });
  }
  if (problems.length > 0) throw policyInvalid(problems, 'model');
}

function denyCode(rule: Rule): ErrorCode {
  if (rule.agreement === 'absent') return 'AGREEMENT_REQUIRED';
  if (rule.purpose?.kind === 'none' || rule.purpose?.kind === 'not-in') return 'PURPOSE_REQUIRED';
  return 'POLICY_DENIED';
}

/**
 * Which columns an allow rule missed on, as bits: only these few say something more
 * specific than POLICY_DENIED. A rule missing on its own `class` column gives no code:
 * `public-open` missing on internal data means "no grant", not "classification exceeded".
 */
const CEILING = 1;
const AGREEMENT = 2;
const PURPOSE = 4;
const OTHER = 8;
const MISS_BITS: Readonly<Record<string, number>> = { ceiling: CEILING, agreement: AGREEMENT, purpose: PURPOSE };

/** The code a near miss justifies, most specific first; undefined when the rule missed on anything else. */
function nearMiss(missed: number): ErrorCode | undefined {
  if (missed === CEILING) return 'CLASSIFICATION_EXCEEDED';
  if (missed === AGREEMENT || missed === (AGREEMENT | PURPOSE)) return 'AGREEMENT_REQUIRED';
  if (missed === PURPOSE) return 'PURPOSE_REQUIRED';
  return undefined;
}

const RANKED: readonly ErrorCode[] = ['CLASSIFICATION_EXCEEDED', 'AGREEMENT_REQUIRED', 'PURPOSE_REQUIRED'];

/**
 * One immutable, validated policy version. `decide` evaluates only the rules of the
 * request's shard: denies first (any one denies), then allows (the first one allows),
 * else default deny. Decisions for a rule are built once and shared.
 */
export class PolicySnapshot {
  readonly version: string;
  readonly sources: PolicySources;
  readonly rules: readonly Rule[];
  /** One plain Casbin enforcer with every rule: the reference, slow on purpose. */
  readonly reference: Enforcer;
  readonly #index: ShardIndex;
  readonly #byId: ReadonlyMap<string, CompiledRule>;
  readonly #decisions: ReadonlyMap<CompiledRule, PolicyDecision>;

  constructor(sources: PolicySources, rules: readonly Rule[], reference: Enforcer) {
    this.version = policyVersionOf(sources);
    this.sources = sources;
    this.rules = Object.freeze([...rules]);
    this.reference = reference;
    const compiled = rules.map(compileRule);
    this.#index = new ShardIndex(compiled);
    this.#byId = new Map(compiled.map((c) => [c.rule.id, c]));
    this.#decisions = new Map(compiled.map((c) => [c, this.#ruleDecision(c.rule)]));
  }

  /** The rules that can apply to `request`, in file order. */
  shardFor(request: PolicyRequest): Shard {
    return this.#index.shardFor(request);
  }

  /** Rules per action × industry shard, for figures. */
  get shardSizes(): readonly number[] {
    return this.#index.sizes;
  }

  compiled(id: string): CompiledRule | undefined {
    return this.#byId.get(id);
  }

  /** The decision, uncached. */
  decide(request: PolicyRequest): PolicyDecision {
    const shard = this.#index.shardFor(request);
    for (const deny of shard.denies) if (deny.matches(request)) return this.#decisions.get(deny)!;
    for (const allow of shard.allows) if (allow.matches(request)) return this.#decisions.get(allow)!;
    return this.#defaultDeny(request, shard);
  }

  /** What the plain Casbin enforcer decides: for tests, audits and the benchmark baseline. */
  decideByReference(request: PolicyRequest): { allowed: boolean; rule: string } {
    return referenceDecide(this.reference, request);
  }

  #ruleDecision(rule: Rule): PolicyDecision {
    const sentence = describeRule(rule);
    if (rule.effect === 'allow') {
      return Object.freeze({
        allowed: true,
        rule: rule.id,
        reason: `allowed by rule ${ruleLocation(rule)}: ${sentence}`,
        policyVersion: this.version,
      });
    }
    return Object.freeze({
      allowed: false,
      code: denyCode(rule),
      rule: rule.id,
      reason: `denied by rule ${ruleLocation(rule)}: ${sentence}`,
      policyVersion: this.version,
    });
  }

  /** Default deny, with the most specific code an allow rule's near miss justifies. */
  #defaultDeny(request: PolicyRequest, shard: Shard): PolicyDecision {
    let code: ErrorCode = 'POLICY_DENIED';
    let closest: CompiledRule | undefined;
    for (const allow of shard.allows) {
      let missed = 0;
      for (const condition of allow.conditions) {
        if (condition.test(request)) continue;
        missed |= MISS_BITS[condition.column] ?? OTHER;
        if (missed & OTHER) break;
      }
      const specific = nearMiss(missed);
      if (specific !== undefined && (closest === undefined || RANKED.indexOf(specific) < RANKED.indexOf(code))) {
        code = specific;
        closest = allow;
      }
    }
    const hint =
      closest === undefined
        ? ''
        : `; rule ${closest.rule.id} would allow it, but ${closest.conditions
            .filter((c) => !c.test(request))
            .map((c) => c.whyNot(request))
            .join(' and ')}`;
    const { subject: s, object: o } = request;
    return Object.freeze({
      allowed: false,
      code,
      rule: DEFAULT_DENY,
      reason: `no rule allows a ${s.city} ${s.industry} ${s.kind} (${s.level} ${s.region}) to ${request.action} ${o.id} (${o.classification} ${o.industry} of ${o.ownerCity})${hint}`,
      policyVersion: this.version,
    });
  }
}

/**
 * Parses, compiles and checks a policy version: the model declares the columns the
 * engine evaluates, every rule line parses, and every sample gets its expected outcome
 * from the engine and from the plain Casbin enforcer alike.
 *
 * @throws MeshError `POLICY_INVALID` (details.rule `model`, `parse` or `sample`), located by file and line
 */
export async function buildSnapshot(sources: PolicySources): Promise<PolicySnapshot> {
  checkModel(sources.model);
  const rules = parseRuleFiles(sources.ruleFiles);
  const samples = sources.samples === undefined ? [] : parseSamples(sources.samples);
  const snapshot = new PolicySnapshot(sources, rules, await referenceEnforcer(sources.model.text, rules));
  checkSamples(snapshot, samples);
  return snapshot;
}
