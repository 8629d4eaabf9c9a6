import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MeshError } from '../../common/errors/mesh-error.js';
import { type VerifyCertificatePathOptions, verifyCertificatePath } from '../../trust-anchor/x509/index.js';
import { beijingPathOf, negativeCases } from './fixtures/x509/cases.js';
import { buildPki } from './fixtures/x509/pki.js';

/**
 * Frozen test vectors: one JSON file per rule under `fixtures/x509/vectors/`, minted at
 * T0 (2030-01-01) with `now` stored in the file, so they never rot. They pin the
 * verifier's behaviour independently of the issuer that made them. Regenerate with
 * `CITYMESH_WRITE_X509_VECTORS=1 npx vitest run test/trust-anchor/x509-vectors`.
 */
const VECTORS = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'x509', 'vectors');

interface Vector {
  readonly name: string;
  readonly now: string;
  readonly leewaySeconds?: number;
  readonly leafPem: string;
  readonly chainPems: readonly string[];
  readonly rootPems: readonly string[];
  readonly revokedSerials?: readonly string[];
  readonly expected?: VerifyCertificatePathOptions['expected'];
  /** Either the refusal or the identity the path proves. */
  readonly expect:
    | { readonly code: string; readonly rule: string; readonly certificate?: string }
    | { readonly spiffeId: string };
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function toVector(name: string, options: VerifyCertificatePathOptions, expectation: Vector['expect']): Vector {
  return {
    name,
    now: options.now.toISOString(),
    ...(options.leewaySeconds === undefined ? {} : { leewaySeconds: options.leewaySeconds }),
    leafPem: options.leafPem,
    chainPems: [...(options.chainPems ?? [])],
    rootPems: [...options.rootPems],
    ...(options.revokedSerials === undefined ? {} : { revokedSerials: [...options.revokedSerials] }),
    ...(options.expected === undefined ? {} : { expected: options.expected }),
    expect: expectation,
  };
}

if (process.env.CITYMESH_WRITE_X509_VECTORS === '1') {
  const pki = await buildPki();
  rmSync(VECTORS, { recursive: true, force: true });
  mkdirSync(VECTORS, { recursive: true });
  const vectors = [
    toVector('accepts root → Beijing CA → node leaf', beijingPathOf(pki), {
      spiffeId: 'spiffe://beijing.jjj.citymesh/node/node-1',
    }),
    ...(await Promise.all(
      negativeCases(pki).map(async (c) =>
        toVector(c.name, await c.options(), { code: c.code, rule: c.rule, certificate: c.certificate }),
      ),
    )),
  ];
  for (const vector of vectors)
    writeFileSync(join(VECTORS, `${slug(vector.name)}.json`), `${JSON.stringify(vector, null, 2)}\n`);
}

const files = readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort();
const vectors = files.map((file) => ({
  file,
  vector: JSON.parse(readFileSync(join(VECTORS, file), 'utf8')) as Vector,
}));

describe('x509 path vectors (data files)', () => {
  it('has one vector per negative case plus the valid path', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(vectors)('$vector.name ($file)', ({ vector }) => {
    const run = () =>
      verifyCertificatePath({
        leafPem: vector.leafPem,
        chainPems: vector.chainPems,
        rootPems: vector.rootPems,
        now: new Date(vector.now),
        ...(vector.leewaySeconds === undefined ? {} : { leewaySeconds: vector.leewaySeconds }),
        ...(vector.revokedSerials === undefined ? {} : { revokedSerials: vector.revokedSerials }),
        ...(vector.expected === undefined ? {} : { expected: vector.expected }),
      });
    if ('spiffeId' in vector.expect) {
      expect(run().spiffeId).toBe(vector.expect.spiffeId);
      return;
    }
    let err: unknown;
    try {
      run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MeshError);
    const { code, details } = err as MeshError;
    expect({ code, rule: details.rule, certificate: details.certificate }).toEqual(vector.expect);
  });
});
