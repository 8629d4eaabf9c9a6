import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import { buildVectors, readKeys } from '../vectors/federation/generate.js';
import { type FederationVector, runVector } from '../vectors/federation/vector.js';

const DIR = fileURLToPath(new URL('../vectors/federation/', import.meta.url));

const vectors: FederationVector[] = readdirSync(DIR)
  .filter((file) => file.endsWith('.json') && file !== 'keys.json')
  .sort()
  .map((file) => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as FederationVector);

const refusals = vectors.filter((v) => 'code' in v.expect);
const acceptances = vectors.filter((v) => 'ok' in v.expect);

describe('federation test vectors', () => {
  it('has a vector for every rule the issue names, each file named after its vector', () => {
    const rules = new Set(vectors.map((v) => v.rule));
    for (const rule of [
      'statement-subject',
      'wrong-key',
      'expired-link',
      'metadata-rollback',
      'crit',
      'typ-confusion',
      'alg-none',
      'alg-confusion',
      'header-injection',
      'unknown-kid',
      'revoked-city',
      'revoked-node',
      'chain-too-long',
      'constraints',
      'not-yet-valid',
      'max-size',
      'metadata-expired',
      'valid',
    ]) {
      expect(rules, rule).toContain(rule);
    }
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'keys.json');
    expect(files.sort()).toEqual(vectors.map((v) => `${v.name}.json`).sort());
  });

  it.each(refusals.map((v) => [v.name, v] as const))('refuses %s with its code', async (_name, vector) => {
    const { code, check } = vector.expect as { code: string; check: string };
    const err = await runVector(vector).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, `${vector.name}: ${vector.description}`).toBeInstanceOf(MeshError);
    expect((err as MeshError).code, (err as MeshError).message).toBe(code);
    expect((err as MeshError).details.rule, (err as MeshError).message).toBe(check);
  });

  it.each(acceptances.map((v) => [v.name, v] as const))('accepts %s', async (_name, vector) => {
    const { ok: _ok, ...expected } = vector.expect as { ok: true } & Record<string, unknown>;
    expect(await runVector(vector)).toMatchObject(expected);
  });

  it('matches what the committed generator produces from keys.json', async () => {
    const generated = await buildVectors(await readKeys(DIR));
    const summary = (list: FederationVector[]) =>
      list
        .map(({ name, rule, description, now, expect: e }) => ({ name, rule, description, now, expect: e }))
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(summary(generated)).toEqual(summary(vectors));
  });
});
