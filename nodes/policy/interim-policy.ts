import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { sha256Canonical } from '../../common/canonical-json.js';
import type { ErrorCode } from '../../common/errors/index.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import type { Agreement, CatalogEntry, Classification } from '../../common/stores/index.js';
import { writeFileAtomic } from '../trust/node-files.js';

/**
 * The node's access decisions until the Casbin engine lands: default deny, with the
 * providing city's own allow lines (city sovereignty). Kept deliberately small; every
 * decision names the rule that made it and the policy version (a content hash).
 */

export const GRANTS_FILE = 'policy/grants.json';

export const CLASSIFICATION_RANK: Readonly<Record<Classification, number>> = {
  public: 0,
  internal: 1,
  sensitive: 2,
  restricted: 3,
};

export const POLICY_ACTIONS = ['read', 'subscribe', 'invoke', 'publish', 'administer'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

const classification = z.enum(['public', 'internal', 'sensitive', 'restricted']);

/** One allow line: which consumer city may do what to which resources, up to which classification. */
const grantSchema = z
  .object({
    /** A city name, or `*` for every member city. */
    city: z.string().regex(/^(\*|[a-z][a-z0-9-]{0,62})$/),
    /** A resource id, or a prefix ending in `*` (`jjj/beijing/transport/*`). */
    resource: z.string().min(1).max(300),
    actions: z.array(z.enum(POLICY_ACTIONS)).min(1),
    maxClassification: classification,
    /** Optional: only these purposes. */
    purposes: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type CityGrant = z.infer<typeof grantSchema>;

const fileSchema = z.object({ grants: z.array(grantSchema) }).strict();

/** Public data is open to every member city unless the city writes its own grants. */
export const DEFAULT_GRANTS: readonly CityGrant[] = [
  { city: '*', resource: '*', actions: ['read', 'subscribe', 'invoke'], maxClassification: 'public' },
];

/** What is asked. Subject attributes come from verified credentials, never from the request. */
export interface AccessRequest {
  readonly subject: { readonly id: string; readonly city: string; readonly industry: string; readonly level: string };
  readonly action: PolicyAction;
  readonly purpose: string;
  readonly entry: CatalogEntry;
  /** The ceiling the exchange grant carries, when the call was forwarded. */
  readonly grantMaxClassification?: Classification;
  /** The agreement the call relies on, already checked to be live and for this consumer. */
  readonly agreement?: Agreement;
}

export interface Decision {
  readonly allowed: boolean;
  /** Why it was denied. */
  readonly code?: ErrorCode;
  /** Which rule decided. */
  readonly rule: string;
  readonly reason: string;
  readonly policyVersion: string;
}

/** The grants of this node, reloaded when the file changes (no restart needed). */
export class InterimPolicy {
  readonly #dir: string;
  readonly #ownCity: string;
  #loaded: { mtimeMs: number; grants: readonly CityGrant[]; version: string } | undefined;

  constructor(dir: string, ownCity: string) {
    this.#dir = dir;
    this.#ownCity = ownCity;
  }

  get version(): string {
    return this.#current().version;
  }

  decide(request: AccessRequest): Decision {
    const { grants, version } = this.#current();
    const deny = (code: ErrorCode, rule: string, reason: string): Decision => ({
      allowed: false,
      code,
      rule,
      reason,
      policyVersion: version,
    });
    const entry = request.entry;
    const rank = CLASSIFICATION_RANK[entry.classification];
    if (request.purpose.trim() === '') return deny('PURPOSE_REQUIRED', 'purpose', 'every exchange declares a purpose');
    if (request.grantMaxClassification !== undefined && rank > CLASSIFICATION_RANK[request.grantMaxClassification]) {
      return deny(
        'CLASSIFICATION_EXCEEDED',
        'grant-ceiling',
        `${entry.id} is ${entry.classification}; the grant allows up to ${request.grantMaxClassification}`,
      );
    }
    if ((entry.requiresAgreement || rank >= CLASSIFICATION_RANK.sensitive) && request.agreement === undefined) {
      return deny('AGREEMENT_REQUIRED', 'agreement', `${entry.id} is served only under a live access agreement`);
    }
    if (request.subject.city === this.#ownCity && rank <= CLASSIFICATION_RANK.internal) {
      return { allowed: true, rule: 'own-city', reason: 'the city reads its own data', policyVersion: version };
    }
    const index = grants.findIndex(
      (g) =>
        (g.city === '*' || g.city === request.subject.city) &&
        matches(g.resource, entry.id) &&
        g.actions.includes(request.action) &&
        rank <= CLASSIFICATION_RANK[g.maxClassification] &&
        (g.purposes === undefined || g.purposes.includes(request.purpose)),
    );
    if (index < 0) {
      return deny(
        'POLICY_DENIED',
        'default-deny',
        `no grant of ${this.#ownCity} lets ${request.subject.city} ${request.action} ${entry.id} (${entry.classification})`,
      );
    }
    return {
      allowed: true,
      rule: `grant[${index}]`,
      reason: 'allowed by a grant of the providing city',
      policyVersion: version,
    };
  }

  #current(): { grants: readonly CityGrant[]; version: string } {
    const path = join(this.#dir, GRANTS_FILE);
    const mtimeMs = existsSync(path) ? statSync(path).mtimeMs : 0;
    if (this.#loaded?.mtimeMs !== mtimeMs) {
      const grants = mtimeMs === 0 ? DEFAULT_GRANTS : readGrants(this.#dir);
      const version = sha256Canonical({ grants }).slice(0, 16);
      this.#loaded = { mtimeMs, grants, version };
    }
    return this.#loaded;
  }
}

function matches(pattern: string, id: string): boolean {
  if (pattern === '*') return true;
  return pattern.endsWith('*') ? id.startsWith(pattern.slice(0, -1)) : id === pattern;
}

/** The node's grants; the defaults while no file exists. */
export function readGrants(dir: string): CityGrant[] {
  const path = join(dir, GRANTS_FILE);
  if (!existsSync(path)) return [...DEFAULT_GRANTS];
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MeshError('POLICY_INVALID', `${path}: ${issue?.path.join('.')}: ${issue?.message}`, {
      details: { field: 'grants' },
    });
  }
  return parsed.data.grants;
}

/** Adds a grant (kept after the defaults the file starts with). */
export function addGrant(dir: string, grant: CityGrant): CityGrant[] {
  const checked = grantSchema.safeParse(grant);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new MeshError('POLICY_INVALID', `grant ${issue?.path.join('.')}: ${issue?.message}`, {
      details: { field: 'grant' },
    });
  }
  const grants = [...readGrants(dir), checked.data];
  writeFileAtomic(join(dir, GRANTS_FILE), `${JSON.stringify({ grants }, null, 2)}\n`);
  return grants;
}
