import { status as GrpcStatus } from '@grpc/grpc-js';
import { ERROR_CODES, ERROR_REGISTRY } from './registry.js';

const STATUS_NAMES = new Map<number, string>(
  Object.entries(GrpcStatus)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

/** The canonical name of a gRPC status code (`UNAUTHENTICATED` for 16). */
export function grpcStatusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `STATUS_${code}`;
}

/** The table of docs/errors.md, rendered from the registry (the drift test compares them). */
export function renderErrorsMarkdown(): string {
  const rows = ERROR_CODES.map((code) => {
    const e = ERROR_REGISTRY[code];
    return `| \`${code}\` | ${e.reason} | ${grpcStatusName(e.status)} | ${e.summary} |`;
  });
  return ['| reason | value | gRPC status | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
