import { auditAppendSuite } from './audit-append.js';
import { deviceAuthSuite } from './device-auth.js';
import { devicesImportSuite } from './devices-import.js';
import { exchangeCrossCitySuite } from './exchange-cross-city.js';
import { grpcEchoSuite } from './grpc-echo/index.js';
import { policyDecideSuite } from './policy-decide.js';
import type { BenchSuite } from './result.js';
import { simulationSuite } from './simulation.js';
import { tokenVerifySuite } from './token-verify.js';

export const SUITES: readonly BenchSuite[] = [
  grpcEchoSuite,
  exchangeCrossCitySuite,
  auditAppendSuite,
  tokenVerifySuite,
  policyDecideSuite,
  deviceAuthSuite,
  devicesImportSuite,
  simulationSuite,
];
