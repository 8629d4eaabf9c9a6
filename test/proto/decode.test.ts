import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../common/errors/index.js';
import { decodeMessage, pageSize, requireEnum, requireMessage, requireString } from '../../common/proto/index.js';
import { DescribeEntryRequest, PublishEntryRequest } from '../../proto/gen/citymesh/v1/catalog_service.js';
import { Classification } from '../../proto/gen/citymesh/v1/common.js';

function codeAndField(fn: () => unknown): { code: string; field: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (isMeshError(err)) return { code: err.code, field: err.details.field, message: err.message };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('decoding protobuf input', () => {
  it('round-trips a valid message', () => {
    const bytes = DescribeEntryRequest.encode({ id: 'jjj/beijing/transport/bus-stops@1.0.0' }).finish();
    expect(decodeMessage(DescribeEntryRequest, 'DescribeEntryRequest', bytes).id).toBe(
      'jjj/beijing/transport/bus-stops@1.0.0',
    );
  });

  it.each([
    ['truncated length prefix', Uint8Array.from([0x0a, 0x20, 0x61])],
    ['invalid wire type 7', Uint8Array.from([0x0f, 0x01])],
    [
      'varint that never ends',
      Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ],
  ])('refuses %s with MALFORMED_REQUEST naming the message', (_name, bytes) => {
    const r = codeAndField(() => decodeMessage(PublishEntryRequest, 'PublishEntryRequest', bytes));
    expect(r.code).toBe('MALFORMED_REQUEST');
    expect(r.message).toMatch(/^PublishEntryRequest: not a valid protobuf encoding/);
  });
});

describe('required fields', () => {
  it('names the field and the rule of an empty required string', () => {
    const r = codeAndField(() => requireString('DescribeEntryRequest', 'id', '  '));
    expect(r).toMatchObject({ code: 'MALFORMED_REQUEST', field: 'id' });
    expect(r.message).toBe('DescribeEntryRequest.id: is required and must not be empty');
  });

  it('refuses an over-long string', () => {
    expect(codeAndField(() => requireString('X', 'title', 'a'.repeat(300), 200)).message).toContain('at most 200');
  });

  it('refuses UNSPECIFIED and unknown enum numbers', () => {
    const known = [Classification.CLASSIFICATION_PUBLIC, Classification.CLASSIFICATION_RESTRICTED];
    expect(codeAndField(() => requireEnum('X', 'classification', 0 as Classification, known)).message).toContain(
      'UNSPECIFIED',
    );
    expect(codeAndField(() => requireEnum('X', 'classification', 99 as Classification, known)).message).toContain(
      'unknown value 99',
    );
    expect(requireEnum('X', 'classification', Classification.CLASSIFICATION_PUBLIC, known)).toBe(1);
  });

  it('refuses an absent sub-message', () => {
    expect(codeAndField(() => requireMessage('PublishEntryRequest', 'entry', undefined)).field).toBe('entry');
  });

  it('defaults a zero page size and refuses negative or oversized ones', () => {
    expect(pageSize('ListEntriesRequest', 0)).toBe(100);
    expect(pageSize('ListEntriesRequest', 50)).toBe(50);
    expect(codeAndField(() => pageSize('ListEntriesRequest', -1)).field).toBe('page_size');
    expect(pageSize('ListEntriesRequest', 5000)).toBe(1000);
  });
});
