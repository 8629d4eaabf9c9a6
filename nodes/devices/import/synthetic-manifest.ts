import { closeSync, openSync, writeSync } from 'node:fs';
import { districtsOf, getCity } from '../../../common/ids/clusters.js';
import { defaultTaxonomy, type Taxonomy } from '../taxonomy/index.js';
import type { ManifestFormat } from './manifest-file.js';

/*
 * Deterministic manifests of valid devices for benchmarks, tests and demos: line i always
 * describes the same device, spread over every industry and type of the taxonomy and over
 * the city's districts and streets. Keys are random-looking 32-byte strings shaped as
 * P-256 or Ed25519 public keys (not real points: bulk imports check the shape only).
 */

export interface SyntheticManifestInit {
  readonly city: string;
  readonly devices: number;
  readonly format?: ManifestFormat;
  readonly taxonomy?: Taxonomy;
  /** Device ids are `<prefix><index, 7 digits>`; default `dev-`. */
  readonly idPrefix?: string;
}

const NOT_BEFORE = '2025-01-01T00:00:00Z';
const NOT_AFTER = '2027-01-01T00:00:00Z';
const STREETS_PER_DISTRICT = 12;

/** The regions devices are spread over: districts and some of their streets, or the city itself. */
function regionsOf(city: string): readonly string[] {
  const districts = districtsOf(city).map((d) => d.code as string);
  if (districts.length === 0) return [getCity(city).region];
  const streets = districts.flatMap((d) =>
    Array.from({ length: STREETS_PER_DISTRICT }, (_, k) => `${d}${String(k + 1).padStart(3, '0')}`),
  );
  return [...districts, ...streets];
}

/** 32 bytes that depend on `i` and `salt`, base64url: a well-formed key coordinate. */
function coordinate(i: number, salt: number): string {
  const bytes = Buffer.alloc(32);
  let x = (i * 2654435761 + salt * 40503) >>> 0;
  for (let k = 0; k < 32; k += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes.writeUInt32LE(x >>> 0, k);
  }
  return bytes.toString('base64url');
}

/** Builds the device descriptions of a city; `describe(i)` is the object of line i. */
export function syntheticDevices(init: SyntheticManifestInit): (i: number) => Record<string, unknown> {
  const taxonomy = init.taxonomy ?? defaultTaxonomy();
  const pairs = taxonomy.industries().flatMap((industry) => taxonomy.types(industry).map((t) => [industry, t.id]));
  const regions = regionsOf(init.city);
  const prefix = init.idPrefix ?? 'dev-';
  return (i) => {
    const [industry, type] = pairs[i % pairs.length] as [string, string];
    const publicJwk =
      i % 2 === 0
        ? { kty: 'EC', crv: 'P-256', x: coordinate(i, 1), y: coordinate(i, 2) }
        : { kty: 'OKP', crv: 'Ed25519', x: coordinate(i, 3) };
    return {
      deviceId: `${prefix}${String(i).padStart(7, '0')}`,
      type,
      industry,
      regionCode: regions[i % regions.length],
      ownerOrg: `${industry}-office`,
      credentials: [{ credentialId: 'k1', kind: 'jwk', publicJwk, notBefore: NOT_BEFORE, notAfter: NOT_AFTER }],
      ...(i % 3 === 0 ? { attributes: { vendor: `vendor-${i % 7}` } } : {}),
    };
  };
}

const csvCell = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

/** The CSV header of {@link csvLineOf}. */
export const SYNTHETIC_CSV_HEADER =
  'deviceId,type,industry,regionCode,ownerOrg,credentialId,publicJwk,notBefore,notAfter,attributes.vendor';

/** A device description as a CSV line under {@link SYNTHETIC_CSV_HEADER}. */
export function csvLineOf(device: Record<string, unknown>): string {
  const credential = (device.credentials as { [k: string]: unknown }[] | undefined)?.[0];
  const cells = [
    device.deviceId,
    device.type,
    device.industry,
    device.regionCode,
    device.ownerOrg,
    credential?.credentialId ?? '',
    credential === undefined ? '' : JSON.stringify(credential.publicJwk),
    credential?.notBefore ?? '',
    credential?.notAfter ?? '',
    (device.attributes as { vendor?: string } | undefined)?.vendor ?? '',
  ];
  return cells.map((cell) => csvCell(String(cell))).join(',');
}

/**
 * Writes a manifest of `devices` valid devices; `extra(i)` may put other lines (bad ones,
 * duplicates) after line i's device. Returns the number of lines written.
 */
export function writeSyntheticManifest(
  path: string,
  init: SyntheticManifestInit,
  extra: (i: number) => readonly string[] = () => [],
): number {
  const describe = syntheticDevices(init);
  const csv = init.format === 'csv';
  const fd = openSync(path, 'w');
  let lines = 0;
  let buffer = csv ? `${SYNTHETIC_CSV_HEADER}\n` : '';
  lines += csv ? 1 : 0;
  try {
    for (let i = 0; i < init.devices; i++) {
      const device = describe(i);
      buffer += `${csv ? csvLineOf(device) : JSON.stringify(device)}\n`;
      lines++;
      for (const line of extra(i)) {
        buffer += `${line}\n`;
        lines++;
      }
      if (buffer.length >= 1 << 20) {
        writeSync(fd, buffer);
        buffer = '';
      }
    }
    writeSync(fd, buffer);
  } finally {
    closeSync(fd);
  }
  return lines;
}
