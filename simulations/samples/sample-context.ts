import { districtsOf, getCity } from '../../common/ids/clusters.js';

/** A deterministic pseudo-random source: the same city always gets the same samples. */
export interface Rng {
  /** In [0, 1). */
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** A number in [min, max) rounded to `digits` decimals. */
  decimal(min: number, max: number, digits: number): number;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** mulberry32: tiny, fast and good enough for synthetic data (not for anything secret). */
export function seededRng(seed: string): Rng {
  let state = fnv1a(seed);
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]) => items[int(0, items.length - 1)] as T,
    decimal: (min, max, digits) => Number((min + next() * (max - min)).toFixed(digits)),
  };
}

/** Where the samples of one city are set. */
export interface SampleContext {
  readonly cluster: string;
  readonly city: string;
  /** The city's GB/T 2260 code: every entry's region. */
  readonly cityRegion: string;
  /** Region codes records are spread over: the bundled districts, else the city itself. */
  readonly regions: readonly string[];
  /** A generator seeded by cluster, city and `salt`. */
  rng(salt: string): Rng;
}

/** The sample context of a bundled city. @throws MeshError `MEMBER_NOT_FOUND` for an unknown city */
export function sampleContext(cluster: string, city: string): SampleContext {
  const info = getCity(city);
  const districts = districtsOf(city).map((d) => d.code as string);
  return {
    cluster,
    city,
    cityRegion: info.region,
    regions: districts.length > 0 ? districts : [info.region],
    rng: (salt) => seededRng(`${cluster}/${city}/${salt}`),
  };
}

/** Sample instants start here, an hour apart where hourly. */
export const SAMPLE_EPOCH_MS = Date.UTC(2025, 0, 6);

export const isoAt = (hours: number) => new Date(SAMPLE_EPOCH_MS + hours * 3_600_000).toISOString();
export const dateAt = (days: number) => isoAt(days * 24).slice(0, 10);
export const pad = (n: number, width = 4) => String(n).padStart(width, '0');
