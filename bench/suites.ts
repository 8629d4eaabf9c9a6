import { auditAppendSuite } from './audit-append.js';
import { grpcEchoSuite } from './grpc-echo/index.js';
import type { BenchSuite } from './result.js';

export const SUITES: readonly BenchSuite[] = [grpcEchoSuite, auditAppendSuite];
