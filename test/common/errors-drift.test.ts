import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_REGISTRY, renderErrorsMarkdown } from '../../common/errors/index.js';

const PROTO = readFileSync(new URL('../../proto/citymesh/v1/errors.proto', import.meta.url), 'utf8');
const DOCS = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

function protoReasons(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of PROTO.matchAll(/^\s*ERROR_REASON_([A-Z0-9_]+)\s*=\s*(\d+)\s*;/gm)) {
    if (m[1] !== 'UNSPECIFIED') out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('error registry drift', () => {
  it('has exactly the reasons of the proto ErrorReason enum, with the same numbers', () => {
    const proto = protoReasons();
    expect([...proto.keys()].sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) expect(ERROR_REGISTRY[code].reason, code).toBe(proto.get(code));
  });

  it('never gives two codes the same reason number', () => {
    const numbers = ERROR_CODES.map((c) => ERROR_REGISTRY[c].reason);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('is documented row for row in docs/errors.md (regenerate with `npx citymesh errors --markdown`)', () => {
    const begin = DOCS.indexOf('<!-- errors:begin -->');
    const end = DOCS.indexOf('<!-- errors:end -->');
    expect(begin).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(begin);
    const table = DOCS.slice(begin + '<!-- errors:begin -->'.length, end).trim();
    expect(table).toBe(renderErrorsMarkdown());
  });
});
