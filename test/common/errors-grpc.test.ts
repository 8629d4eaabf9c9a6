import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  fromServiceError,
  MeshError,
  REASON_TRAILER,
  toGrpcStatus,
  toServiceError,
} from '../../common/errors/index.js';

describe('mapping errors to gRPC', () => {
  it('carries the reason in a trailer and maps it to its canonical status', () => {
    const s = toGrpcStatus(new MeshError('TOKEN_EXPIRED', 'access token expired at 2026-01-01T00:00:00Z'));
    expect(s.code).toBe(status.UNAUTHENTICATED);
    expect(s.details).toBe('access token expired at 2026-01-01T00:00:00Z');
    expect(s.metadata.get(REASON_TRAILER)).toEqual(['TOKEN_EXPIRED']);
  });

  it('hides the message of anything that is not a MeshError and reports it as INTERNAL', () => {
    const logged: unknown[] = [];
    const leak = new Error('SQLITE_CORRUPT at /var/lib/citymesh/secret-path.db');
    const s = toGrpcStatus(leak, (e) => logged.push(e));
    expect(s.code).toBe(status.INTERNAL);
    expect(s.details).not.toContain('secret-path');
    expect(s.metadata.get(REASON_TRAILER)).toEqual(['INTERNAL']);
    expect(logged).toEqual([leak]);
  });

  it('hides the message of an explicit INTERNAL MeshError too', () => {
    const s = toGrpcStatus(new MeshError('INTERNAL', 'pool exhausted at host db-3'));
    expect(s.details).not.toContain('db-3');
  });

  it('round-trips a reason from server to client', () => {
    const wire = toServiceError(new MeshError('CITY_REVOKED', 'city tianjin is revoked since metadata v42'));
    const back = fromServiceError(wire);
    expect(back.code).toBe('CITY_REVOKED');
    expect(back.message).toContain('tianjin');
  });

  it('maps a transport failure without a reason to PEER_UNAVAILABLE', () => {
    const err = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
      code: status.UNAVAILABLE,
      details: 'No connection established',
      metadata: new Metadata(),
    }) as ServiceError;
    expect(fromServiceError(err).code).toBe('PEER_UNAVAILABLE');
  });

  it('ignores a reason trailer that names no known code', () => {
    const md = new Metadata();
    md.set(REASON_TRAILER, 'MADE_UP');
    const err = Object.assign(new Error('x'), { code: status.PERMISSION_DENIED, details: 'x', metadata: md });
    expect(fromServiceError(err as ServiceError).code).toBe('INTERNAL');
  });
});
