import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isMeshError, type MeshError } from '../../../common/errors/index.js';
import {
  buildSnapshot,
  loadPolicySnapshot,
  PolicyEngine,
  policyVersionOf,
} from '../../../nodes/policy/engine/index.js';
import { defaultSources, line, request, SET_DIR, sourcesOf } from './support.js';

const MODEL = resolve('policies/model.conf');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the shipped set, with `edit` applied to its files. */
function setWith(edit: (files: Record<string, string>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'citymesh-policy-'));
  dirs.push(dir);
  cpSync(SET_DIR, dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const name of ['baseline.csv', 'guards.csv', 'grants.csv', 'samples.yaml']) {
    files[name] = readFileSync(join(dir, name), 'utf8');
  }
  edit(files);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function refusal(promise: Promise<unknown>): Promise<MeshError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isMeshError(error, 'POLICY_INVALID')) throw new Error(`expected POLICY_INVALID, got ${String(error)}`);
  return error;
}

const grantLine = (cells: Record<string, string>) => line('extra-grant', 'allow', { act: 'read', ...cells });

describe('loading refuses bad policy files, saying where', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'an unknown industry, with a suggestion',
      { obj_industry: 'heath' },
      /unknown industry "heath" \(did you mean "health"\?\)/,
    ],
    ['an unknown action', { act: 'raed' }, /act: unknown action "raed" \(did you mean "read"\?\)/],
    ['a bad region code', { sub_region: '110100' }, /sub_region: .*110100/],
    ['a bad classification', { class: '<=secret' }, /class: unknown classification "secret"/],
    ['an unknown city', { sub_city: 'tianjn' }, /unknown city "tianjn" \(did you mean "tianjin"\?\)/],
    ['an unknown relation', { relation: 'inside' }, /relation: unknown relation "inside"/],
    ['an unknown level', { sub_level: 'county' }, /sub_level: unknown level "county"/],
    ['a space inside a cell', { act: 'read| subscribe' }, /act: a space inside "read\| subscribe"/],
    ['$owner where only city names go', { obj_city: '$owner' }, /obj_city: "\$owner" is not allowed here/],
  ];
  for (const [what, cells, message] of cases) {
    it(`${what}: file, line and column`, async () => {
      const dir = setWith((f) => {
        f['grants.csv'] += `\n${grantLine(cells)}\n`;
      });
      const lineNo = readFileSync(join(dir, 'grants.csv'), 'utf8').split('\n').length - 1;
      const error = await refusal(loadPolicySnapshot(dir, { modelFile: MODEL }));
      expect(error.message).toMatch(new RegExp(`grants\\.csv:${lineNo}:\\d+: `));
      expect(error.message).toMatch(message);
      expect(error.details).toMatchObject({ rule: 'parse', line: lineNo });
      expect(String(error.details.file)).toMatch(/grants\.csv$/);
    });
  }

  it('a wrong column count, a line without "p," and a duplicate rule id, all listed', async () => {
    const dir = setWith((f) => {
      f['grants.csv'] += '\np, too-short, allow, read\nq, public-open, allow\n';
      f['guards.csv'] += `\n${line('public-open', 'deny')}\n`;
    });
    const error = await refusal(loadPolicySnapshot(dir, { modelFile: MODEL }));
    expect(error.message).toMatch(/grants\.csv:\d+: 3 columns, expected 16/);
    expect(error.message).toMatch(/grants\.csv:\d+:1: a rule line starts with "p,", not "q"/);
    expect(error.message).toMatch(
      /guards\.csv:\d+:4: duplicate rule id "public-open" \(first at \S*baseline\.csv:\d+\)/,
    );
    expect(error.details.problems).toBe(3);
  });

  it('a sample that fails refuses the set, naming the sample and what was decided', async () => {
    const dir = setWith((f) => {
      f['baseline.csv'] = f['baseline.csv']!.replace(/^p, public-open,.*$/m, '');
    });
    const error = await refusal(loadPolicySnapshot(dir, { modelFile: MODEL }));
    expect(error.details.rule).toBe('sample');
    expect(error.message).toMatch(
      /samples\.yaml:\d+: sample "another city reads public data": expected allow, decided deny by default-deny/,
    );
  });

  it('a malformed sample, a missing samples file and a model with other columns are refused', async () => {
    const bad = setWith((f) => {
      f['samples.yaml'] += '\n- name: typo\n  subject: { city: tianjin, industry: heath, region: "120101" }\n';
    });
    expect((await refusal(loadPolicySnapshot(bad, { modelFile: MODEL }))).message).toMatch(
      /samples\.yaml:\d+: sample \d+ "typo": subject\.industry: .*did you mean "health"/,
    );
    const none = setWith(() => {});
    rmSync(join(none, 'samples.yaml'));
    expect((await refusal(loadPolicySnapshot(none, { modelFile: MODEL }))).message).toMatch(
      /every policy set ships its samples/,
    );
    const model = readFileSync(MODEL, 'utf8');
    const refused = (text: string) =>
      refusal(buildSnapshot({ ...defaultSources(), model: { name: 'model.conf', text } }));
    expect((await refused(model.replace('p = id, eft,', 'p = id, eft, extra,'))).message).toMatch(
      /model\.conf:\d+: p must be id, eft, act/,
    );
    // The engine compiles one matcher: a model deciding otherwise would make Casbin and the engine disagree.
    expect((await refused(model.replace('anyOf(p.act, r.act) && ', ''))).message).toMatch(
      /model\.conf:\d+: the matcher is not the one the engine compiles/,
    );
    expect((await refused(model.replace('&& !some(where (p.eft == deny))', ''))).message).toMatch(
      /model\.conf:\d+: the effect must be deny-overrides-allow/,
    );
  });
});

describe('PolicyEngine swaps only validated sets', () => {
  it('a refused load leaves the previous version in force, cache included', async () => {
    const engine = new PolicyEngine();
    const good = await engine.load(SET_DIR);
    const probe = request({
      city: 'tianjin',
      industry: 'transport',
      region: '120101',
      owner: 'beijing',
      objectIndustry: 'transport',
      objectRegion: '110000',
      classification: 'public',
    });
    expect(engine.decide(probe)).toMatchObject({ allowed: true, policyVersion: good.version });
    const broken = setWith((f) => {
      f['baseline.csv'] += '\np, public-open-2, allow, read, *, *, *, *, *, *, *, *, *, *, publik, *, *\n';
    });
    await refusal(engine.load(broken, { modelFile: MODEL }));
    expect(engine.current).toBe(good);
    expect(engine.decide(probe)).toMatchObject({ allowed: true, policyVersion: good.version });
    expect(engine.cacheStats().hits).toBe(1);
  });

  it('loads run in call order: the last one called is in force', async () => {
    const engine = new PolicyEngine();
    const other = setWith((f) => {
      f['grants.csv'] += `\n${grantLine({ sub_city: 'langfang', obj_industry: 'energy' })}\n`;
    });
    const [a, b] = await Promise.all([engine.load(other, { modelFile: MODEL }), engine.load(SET_DIR)]);
    expect(a.version).not.toBe(b.version);
    expect(engine.version).toBe(b.version);
  });

  it('decides nothing is allowed before any set is loaded', () => {
    expect(
      new PolicyEngine().decide(
        request({
          city: 'beijing',
          industry: 'health',
          region: '110000',
          owner: 'beijing',
          objectIndustry: 'health',
          objectRegion: '110000',
          classification: 'public',
        }),
      ),
    ).toMatchObject({ allowed: false, code: 'POLICY_DENIED', rule: 'no-policy-loaded' });
  });
});

describe('the policy version', () => {
  it('is the hash of model, rule files and samples, the same for CRLF files, and changes with any of them', () => {
    const sources = defaultSources();
    const crlf = {
      ...sources,
      ruleFiles: sources.ruleFiles.map((f) => ({ ...f, text: f.text.replace(/\n/g, '\r\n') })),
    };
    expect(policyVersionOf(crlf)).toBe(policyVersionOf(sources));
    expect(policyVersionOf(sources)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const edited = { ...sources, ruleFiles: [...sources.ruleFiles, { name: 'x.csv', text: '# nothing\n' }] };
    expect(policyVersionOf(edited)).not.toBe(policyVersionOf(sources));
    expect(policyVersionOf(sourcesOf({ 'a.csv': '' }))).not.toBe(policyVersionOf(sourcesOf({ 'b.csv': '' })));
  });
});
