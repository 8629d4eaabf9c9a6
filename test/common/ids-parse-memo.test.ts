import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../common/errors/mesh-error.js';
import { parseResourceId, parseSpiffeId } from '../../common/ids/index.js';
import { ParseMemo } from '../../common/ids/parse-memo.js';

const fieldOf = (parse: () => unknown): unknown => {
  try {
    parse();
    return undefined;
  } catch (err) {
    return isMeshError(err) ? err.details.field : String(err);
  }
};

describe('remembered identifier parses', () => {
  it('hand out the same frozen result for the same text', () => {
    const id = 'spiffe://beijing.jjj.citymesh/node/n1';
    const first = parseSpiffeId(id);
    expect(parseSpiffeId(id, 'iss')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const resource = 'jjj/beijing/transport-commission/bus-stops@1.0.0';
    expect(parseResourceId(resource)).toBe(parseResourceId(resource, 'resource'));
    expect(parseResourceId(resource).version).toBe('1.0.0');
  });

  it('never remember a refusal: each one names its own field', () => {
    const bad = 'spiffe://beijing.jjj.citymesh/robot/n1';
    expect(fieldOf(() => parseSpiffeId(bad, 'iss'))).toBe('iss');
    expect(fieldOf(() => parseSpiffeId(bad, 'aud'))).toBe('aud');
    expect(fieldOf(() => parseResourceId('jjj/beijing/x', 'resource'))).toBe('resource');
    expect(fieldOf(() => parseResourceId('jjj/beijing/x', 'grant.resource'))).toBe('grant.resource');
    expect(fieldOf(() => parseSpiffeId(42, 'sub'))).toBe('sub');
  });

  it('stay bounded', () => {
    const memo = new ParseMemo<number>(3);
    for (let i = 0; i < 10; i++) memo.remember(`k${i}`, i);
    expect(memo.get('k9')).toBe(9);
    expect(memo.get('k0')).toBeUndefined();
    expect(memo.get(9)).toBeUndefined();
  });
});
