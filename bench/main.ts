import { runBench } from './runner.js';
import { SUITES } from './suites.js';

const code = await runBench(process.argv.slice(2), { suites: SUITES });
process.exitCode = code;
// A handle a suite forgot to close must not hang `npm run bench` after the report is out.
setTimeout(() => process.exit(code), 5_000).unref();
