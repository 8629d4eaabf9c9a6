import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { districtsOf, INDUSTRIES, isRegionCode, listClusters, REGION_LEVELS } from '../common/ids/index.js';
import type { Classification } from '../common/stores/index.js';
import {
  buildSnapshot,
  COLUMNS,
  type PolicyAction,
  PolicyEngine,
  type PolicyRequest,
  type PolicySnapshot,
  type SubjectKind,
} from '../nodes/policy/engine/index.js';
import { benchTiming } from './load.js';
import { percentilesOf } from './percentiles.js';
import { type BenchContext, type BenchSuite, benchResult } from './result.js';

const OWNER = 'beijing';
const DEVICES = 1_000_000;
const DATASETS = 10_000;
const GRANTS = 2_100;
const CITIES = listClusters().flatMap((c) => c.cities);
const INDUSTRY_IDS = INDUSTRIES.map((i) => i.id as string);

/** Deterministic pseudo-random numbers (mulberry32), so every run measures the same requests. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

/** The repository's policies/ folder, from bench/ or dist/bench/. */
function policiesDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'policies', 'model.conf'))) return join(dir, 'policies');
  }
  throw new Error('policies/model.conf not found above bench/');
}

/** A district of `city`: a bundled one when known, else a structurally valid code below the city. */
function districtOf(cityIndex: number, n: number): string {
  const city = CITIES[cityIndex]!;
  const bundled = districtsOf(city.id);
  if (bundled.length > 0) return bundled[n % bundled.length]!.code;
  const two = String(1 + (n % 20)).padStart(2, '0');
  return city.region.endsWith('0000') ? `${city.region.slice(0, 2)}01${two}` : `${city.region.slice(0, 4)}${two}`;
}

/** Device `i` of the million: city, industry, kind, level and region all follow from `i`. */
function device(i: number): PolicyRequest['subject'] {
  const cityIndex = i % CITIES.length;
  const city = CITIES[cityIndex]!;
  const level = REGION_LEVELS[Math.floor(i / 613) % REGION_LEVELS.length]!;
  const district = districtOf(cityIndex, Math.floor(i / 97));
  const street = `${district}${String(1 + (Math.floor(i / 7) % 30)).padStart(3, '0')}`;
  const regions: Record<string, string> = {
    national: '000000',
    province: `${city.region.slice(0, 2)}0000`,
    city: city.region,
    district,
    street,
    community: `${street}${String(1 + (i % 40)).padStart(3, '0')}`,
  };
  const kinds: readonly SubjectKind[] = ['device', 'device', 'device', 'device', 'device', 'device', 'app', 'person'];
  return {
    kind: kinds[i % kinds.length]!,
    id: `device-${i}`,
    city: city.id,
    industry: INDUSTRY_IDS[Math.floor(i / CITIES.length) % INDUSTRY_IDS.length]!,
    level,
    region: regions[level]!,
    roles: i % 50 === 0 ? ['admin'] : [],
  };
}

const CLASSES: readonly Classification[] = [
  'public',
  'public',
  'internal',
  'internal',
  'internal',
  'sensitive',
  'restricted',
];
const orgOf = (industry: string, n: number) => `${industry}-${['bureau', 'centre', 'office'][n % 3]}`;

/** Dataset `j` of Beijing's ten thousand. */
function dataset(j: number): PolicyRequest['object'] {
  const industry = INDUSTRY_IDS[j % INDUSTRY_IDS.length]!;
  const district = districtOf(0, j);
  return {
    ownerCity: OWNER,
    id: `jjj/${OWNER}/${orgOf(industry, Math.floor(j / 12))}/dataset-${j}`,
    industry,
    region: j % 3 === 0 ? '110000' : j % 3 === 1 ? district : `${district}00${1 + (j % 9)}`,
    classification: CLASSES[j % CLASSES.length]!,
    kind: 'dataset',
  };
}

/** Beijing's cross-city grants and embargoes: one line each, over real cities and industries. */
function generatedRules(): string {
  const rnd = random(6);
  const lines: string[] = [];
  const cell = (cells: Record<string, string>) => COLUMNS.map((c) => cells[c] ?? '*').join(', ');
  for (let i = 0; i < GRANTS; i++) {
    const consumer = CITIES[1 + (i % (CITIES.length - 1))]!.id;
    const industry = INDUSTRY_IDS[Math.floor(i / (CITIES.length - 1)) % INDUSTRY_IDS.length]!;
    const sensitive = rnd() < 0.25;
    lines.push(
      `p, ${cell({
        id: `grant-${i}`,
        eft: i % 70 === 69 ? 'deny' : 'allow',
        act: pick(rnd, ['read', 'read|subscribe', 'subscribe', 'invoke', 'read|subscribe|invoke']),
        sub_city: consumer,
        sub_industry: pick(rnd, ['*', '$same', industry, 'public-safety|health']),
        sub_level: pick(rnd, ['*', '*', 'city|district', 'province|city']),
        obj_city: OWNER,
        obj_industry: industry,
        resource: `jjj/${OWNER}/${orgOf(industry, i)}/*`,
        class: sensitive ? '<=sensitive' : '<=internal',
        purpose: sensitive ? pick(rnd, ['declared', 'planning|research']) : pick(rnd, ['*', '*', 'planning']),
        agreement: sensitive ? 'required' : '*',
      })}`,
    );
  }
  return lines.join('\n');
}

interface Workload {
  readonly snapshot: PolicySnapshot;
  readonly requests: readonly PolicyRequest[];
}

async function workload(count: number): Promise<Workload> {
  const root = policiesDir();
  const setDir = join(root, 'sets', 'cluster-default');
  const ruleFiles = readdirSync(setDir)
    .filter((n) => n.endsWith('.csv'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(setDir, name), 'utf8') }));
  const snapshot = await buildSnapshot({
    model: { name: 'model.conf', text: readFileSync(join(root, 'model.conf'), 'utf8') },
    ruleFiles: [...ruleFiles, { name: 'generated-grants.csv', text: generatedRules() }],
  });
  const rnd = random(42);
  const actions: readonly PolicyAction[] = [
    'read',
    'read',
    'read',
    'subscribe',
    'subscribe',
    'invoke',
    'publish',
    'administer',
  ];
  const requests = Array.from({ length: count }, (): PolicyRequest => {
    const subject = device(Math.floor(rnd() * DEVICES));
    if (!isRegionCode(subject.region)) throw new Error(`generated an invalid region ${subject.region}`);
    return {
      subject,
      object: dataset(Math.floor(rnd() * DATASETS)),
      action: pick(rnd, actions),
      purpose: pick(rnd, ['', 'planning', 'research', 'treatment', 'emergency']),
      context: { agreement: rnd() < 0.5 },
    };
  });
  return { snapshot, requests };
}

/** Latency of each call, in µs. */
function latencies(requests: readonly PolicyRequest[], decide: (r: PolicyRequest) => unknown): number[] {
  const samples = new Array<number>(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const start = performance.now();
    decide(requests[i]!);
    samples[i] = (performance.now() - start) * 1000;
  }
  return samples;
}

/**
 * `policy.decide.p99`: uncached decision latency of the engine (shards of compiled rules)
 * on requests drawn from a million devices and ten thousand datasets, with the baseline set
 * plus 2,100 generated grants, against one plain Casbin enforcer holding the same rules.
 * Goals: p99 ≤ 50 µs and ≥ 20× faster (ratio ≤ 0.05). `policy.decide.cached`: decisions/s
 * answered from the engine's cache, against the plain enforcer's decisions/s.
 */
export const policyDecideSuite: BenchSuite = {
  name: 'policy',
  async run(context: BenchContext) {
    const { durationMs } = benchTiming(context.quick);
    const count = context.quick ? 20_000 : 200_000;
    const { snapshot, requests } = await workload(count);
    const sizes = snapshot.shardSizes;
    context.progress(
      `policy: ${snapshot.rules.length} rules; action × industry shards of ${Math.min(...sizes)}–${Math.max(...sizes)} rules`,
    );
    const decide = (r: PolicyRequest) => snapshot.decide(r);
    latencies(requests, decide); // warm-up: JIT and the sub-shards
    const engine = percentilesOf(latencies(requests, decide));
    const allowed = requests.filter((r) => snapshot.decide(r).allowed).length;
    context.progress(
      `policy: engine p50 ${engine.p50.toFixed(2)} µs, p99 ${engine.p99.toFixed(2)} µs, max ${engine.max.toFixed(0)} µs; ${((100 * allowed) / count).toFixed(1)}% allowed`,
    );

    const sample = requests.slice(0, context.quick ? 40 : 400);
    const reference = (r: PolicyRequest) => snapshot.decideByReference(r);
    latencies(sample.slice(0, 5), reference);
    const casbinSamples = latencies(sample, reference);
    const casbin = percentilesOf(casbinSamples);
    const casbinRate = (sample.length * 1e6) / casbinSamples.reduce((a, b) => a + b, 0);
    const disagree = sample.filter((r) => snapshot.decide(r).allowed !== snapshot.decideByReference(r).allowed);
    if (disagree.length > 0) throw new Error(`engine and Casbin disagree on ${disagree.length} requests`);
    context.progress(`policy: plain Casbin enforcer p50 ${casbin.p50.toFixed(0)} µs, p99 ${casbin.p99.toFixed(0)} µs`);

    const stream = new PolicyEngine({ cacheSize: 100_000 });
    stream.use(snapshot);
    for (const r of requests) stream.decide(r);
    const { hits, misses } = stream.cacheStats();
    context.progress(`policy: cache hits ${hits} / misses ${misses} over ${count} random requests`);

    // Pure hits: a hot set well inside one cache generation, warmed once, then asked again and again.
    const cached = new PolicyEngine({ cacheSize: 100_000 });
    cached.use(snapshot);
    const hot = requests.slice(0, 20_000);
    for (const r of hot) cached.decide(r);
    let done = 0;
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      for (const r of hot) cached.decide(r);
      done += hot.length;
    }
    const cachedRate = (done * 1000) / (performance.now() - start);
    if (cached.cacheStats().misses !== hot.length) throw new Error('the hot set did not stay in the cache');

    const p99 = benchResult({
      name: 'policy.decide.p99',
      value: engine.p99,
      unit: 'us',
      baseline: 'casbin.enforce.p99',
      baselineValue: casbin.p99,
      goal: { on: 'value', op: '<=', target: 50 },
    });
    return [
      { ...p99, goal: 'value <= 50 and ratio <= 0.05', goalMet: p99.goalMet === true && p99.ratio <= 0.05 },
      benchResult({
        name: 'policy.decide.cached',
        value: cachedRate,
        unit: '1/s',
        baseline: 'casbin.enforce',
        baselineValue: casbinRate,
      }),
    ];
  },
};
