import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Classification } from '../../../common/stores/index.js';
import { loadPolicySnapshot, type PolicySnapshot } from '../../../nodes/policy/engine/index.js';
import {
  MATRIX_CITIES,
  MATRIX_CLASSES,
  MATRIX_INDUSTRIES,
  MATRIX_LEVELS,
  MATRIX_REGIONS,
  type MatrixCase,
  oracle,
  purposeOf,
} from './matrix-oracle.js';
import { request, SET_DIR } from './support.js';

let snapshot: PolicySnapshot;
beforeAll(async () => {
  snapshot = await loadPolicySnapshot(SET_DIR);
});

function decide(c: MatrixCase): boolean {
  return snapshot.decide(
    request({
      kind: c.kind,
      city: c.subjectCity,
      industry: c.subjectIndustry,
      region: c.subjectRegion,
      level: c.level as never,
      roles: [...c.roles],
      owner: c.objectCity,
      objectIndustry: c.objectIndustry,
      objectRegion: c.objectRegion,
      classification: c.classification,
      action: c.action,
      purpose: c.purpose,
      agreement: c.agreement,
    }),
  ).allowed;
}

interface Row {
  readonly line: number;
  readonly city: string;
  readonly industry: string;
  readonly level: string;
  readonly cells: readonly string[];
}

function readTable(): Row[] {
  return readFileSync(new URL('./decision-matrix.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((text, i) => ({ text: text.trim(), line: i + 1 }))
    .filter(({ text }) => text !== '' && !text.startsWith('#'))
    .map(({ text, line }) => {
      const [city, industry, level, ...cells] = text.split(/\s+/);
      return { line, city: city!, industry: industry!, level: level!, cells };
    });
}

describe('decision matrix of cluster-default', () => {
  it('covers 3 cities × 5 industries × 6 levels × 4 classifications, every cell written down', () => {
    const rows = readTable();
    expect(rows).toHaveLength(MATRIX_CITIES.length * MATRIX_INDUSTRIES.length * MATRIX_LEVELS.length);
    expect(rows.every((r) => r.cells.length === MATRIX_CLASSES.length && r.cells.every((c) => /^[AD]\/[AD]$/.test(c))));
    expect(new Set(rows.map((r) => `${r.city} ${r.industry} ${r.level}`)).size).toBe(rows.length);
  });

  it('the engine and the oracle both give every cell of the literal table', () => {
    const wrong: string[] = [];
    for (const row of readTable()) {
      MATRIX_CLASSES.forEach((classification, i) => {
        const base = {
          subjectCity: row.city,
          subjectIndustry: row.industry,
          level: row.level,
          subjectRegion: MATRIX_REGIONS[row.city]![row.level]!,
          kind: 'app' as const,
          roles: [],
          objectCity: 'beijing',
          objectIndustry: row.industry,
          objectRegion: '110105',
          classification,
          action: 'read' as const,
        };
        const halves = [
          { ...base, purpose: '', agreement: false },
          { ...base, purpose: purposeOf(row.industry), agreement: true },
        ];
        const want = row.cells[i]!.split('/');
        halves.forEach((c, half) => {
          const expected = want[half] === 'A';
          if (decide(c) !== expected || oracle(c) !== expected) {
            wrong.push(
              `line ${row.line} ${classification} half ${half}: table ${want[half]}, engine ${decide(c)}, oracle ${oracle(c)}`,
            );
          }
        });
      });
    }
    expect(wrong).toEqual([]);
  });

  it('the engine agrees with the oracle on the full product (cross-industry, devices, purposes, actions, roles)', () => {
    const actions = ['read', 'subscribe', 'invoke', 'publish', 'administer'] as const;
    const purposes = ['', 'planning', 'treatment', 'public-health', 'emergency'];
    const wrong: string[] = [];
    let cells = 0;
    for (const subjectCity of MATRIX_CITIES)
      for (const subjectIndustry of MATRIX_INDUSTRIES)
        for (const objectIndustry of MATRIX_INDUSTRIES)
          for (const level of MATRIX_LEVELS)
            for (const classification of MATRIX_CLASSES as readonly Classification[])
              for (const kind of ['app', 'device'] as const)
                for (const roles of [[], ['admin']])
                  for (const action of actions)
                    for (const purpose of purposes)
                      for (const agreement of [false, true]) {
                        const c: MatrixCase = {
                          ...{ subjectCity, subjectIndustry, level, kind, roles, action, purpose, agreement },
                          subjectRegion: MATRIX_REGIONS[subjectCity]![level]!,
                          objectCity: 'beijing',
                          objectIndustry,
                          objectRegion: '110105',
                          classification,
                        };
                        cells++;
                        if (decide(c) !== oracle(c) && wrong.length < 20) wrong.push(JSON.stringify(c));
                      }
    expect(cells).toBeGreaterThanOrEqual(3 * 5 * 6 * 4);
    expect(wrong).toEqual([]);
  });
});
