import { describe, expect, it } from 'vitest';
import { compileRecordSchema, RecordSchemaCache } from '../../../nodes/datasets/index.js';

describe('record schemas', () => {
  it('refuses keywords strict mode does not know, instead of silently ignoring them', () => {
    expect(() => compileRecordSchema({ type: 'object', properties: { a: { type: 'string', maxLenght: 3 } } })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_VIOLATION', message: expect.stringContaining('maxLenght') }),
    );
  });

  it('checks formats and union types', () => {
    const v = compileRecordSchema({
      type: 'object',
      properties: { at: { type: 'string', format: 'date-time' }, note: { type: ['string', 'null'] } },
    });
    expect(v.check({ at: '2025-01-06T08:00:00Z', note: null })).toBeUndefined();
    expect(v.check({ at: 'yesterday' })).toBe('/at: must match format "date-time"');
    expect(v.check({ note: 3 })).toBe('/note: must be string,null');
  });

  it('compiles two versions that share a $id', () => {
    const schema = (required: string[]) => ({
      $id: 'https://example.org/clinic',
      type: 'object',
      properties: { a: { type: 'string' } },
      required,
    });
    const cache = new RecordSchemaCache();
    const v1 = cache.get({ id: 'jjj/tianjin/o/d', version: '1.0.0', schema: schema([]) });
    const v2 = cache.get({ id: 'jjj/tianjin/o/d', version: '2.0.0', schema: schema(['a']) });
    expect(v1.check({})).toBeUndefined();
    expect(v2.check({})).toBe('missing required property "a"');
    expect(cache.get({ id: 'jjj/tianjin/o/d', version: '1.0.0', schema: schema(['a', 'a']) })).toBe(v1);
  });
});
