import type { CompiledRule } from './compile-rule.js';
import { POLICY_ACTIONS, type PolicyRequest } from './types.js';

/** The rules that can apply to one combination of index keys, in file order. */
export interface Shard {
  readonly denies: readonly CompiledRule[];
  readonly allows: readonly CompiledRule[];
  readonly all: readonly CompiledRule[];
}

/** Any key no rule names: only rules with a wildcard in that column can match it. */
const REST = '~';
/** Sub-shards kept per snapshot; past it they are filtered per decision (still correct, a little slower). */
const MAX_SUB_SHARDS = 50_000;

function shardOf(rules: readonly CompiledRule[]): Shard {
  return Object.freeze({
    denies: Object.freeze(rules.filter((r) => r.rule.effect === 'deny')),
    allows: Object.freeze(rules.filter((r) => r.rule.effect === 'allow')),
    all: Object.freeze([...rules]),
  });
}

/**
 * Every request carries an action, an object industry, a subject city and an owner
 * city, so rules are indexed by all four. Action × industry shards are built up front
 * (at most 5 × 13); within one, the subject-city × owner-city sub-shard is filtered on
 * first use and kept. A rule with `*` (or `$owner`/`$other`) in a column is in every
 * shard of that column; a city no rule names shares the `~` shard of wildcard rules.
 */
export class ShardIndex {
  readonly #base = new Map<string, Map<string, readonly CompiledRule[]>>();
  readonly #sub = new Map<readonly CompiledRule[], Map<string, Shard>>();
  readonly #industries = new Set<string>();
  readonly #subCities = new Set<string>();
  readonly #objCities = new Set<string>();
  #subShards = 0;
  static readonly EMPTY: Shard = shardOf([]);

  constructor(rules: readonly CompiledRule[]) {
    for (const { rule } of rules) {
      for (const industry of rule.objIndustries ?? []) this.#industries.add(industry);
      for (const city of rule.subCity?.names ?? []) this.#subCities.add(city);
      for (const city of rule.objCities ?? []) this.#objCities.add(city);
    }
    for (const action of POLICY_ACTIONS) {
      const byIndustry = new Map<string, readonly CompiledRule[]>();
      for (const industry of [...this.#industries, REST]) {
        const fits = rules.filter(
          ({ rule }) =>
            (rule.actions === undefined || rule.actions.has(action)) &&
            (rule.objIndustries === undefined || rule.objIndustries.has(industry)),
        );
        byIndustry.set(industry, Object.freeze(fits));
      }
      this.#base.set(action, byIndustry);
    }
  }

  /** Action × industry shards: how many and how large (for figures and tests). */
  get sizes(): readonly number[] {
    return [...this.#base.values()].flatMap((m) => [...m.values()].map((rules) => rules.length));
  }

  shardFor(request: PolicyRequest): Shard {
    const byIndustry = this.#base.get(request.action);
    if (byIndustry === undefined) return ShardIndex.EMPTY;
    const industry = this.#industries.has(request.object.industry) ? request.object.industry : REST;
    const base = byIndustry.get(industry)!;
    const subCity = this.#subCities.has(request.subject.city) ? request.subject.city : REST;
    const objCity = this.#objCities.has(request.object.ownerCity) ? request.object.ownerCity : REST;
    const key = `${subCity}\u0000${objCity}`;
    let subs = this.#sub.get(base);
    let shard = subs?.get(key);
    if (shard !== undefined) return shard;
    shard = shardOf(
      base.filter(({ rule }) => {
        const s = rule.subCity;
        const subFits = s === undefined || s.owner || s.other || s.names.has(subCity);
        return subFits && (rule.objCities === undefined || rule.objCities.has(objCity));
      }),
    );
    if (this.#subShards < MAX_SUB_SHARDS) {
      if (subs === undefined) {
        subs = new Map();
        this.#sub.set(base, subs);
      }
      subs.set(key, shard);
      this.#subShards++;
    }
    return shard;
  }
}
