import { readFileSync } from 'node:fs';
import { run } from '../cli/program.js';
import { SESSION_PREFIX, type SessionRequest, type SessionResult } from './session-protocol.js';

/*
 * One office's session at the command line: runs several `citymesh` commands one after
 * the other in this process, exactly as the binary would (same command tree, same
 * checks, same exit codes), and reports each on stdout. A city's data office publishes
 * ten things in one sitting; paying the CLI's start-up once instead of ten times is
 * what lets a 27-city simulation set up in minutes on two cores.
 */

const request = JSON.parse(readFileSync(0, 'utf8')) as SessionRequest;
let failed = false;
for (const args of request.commands) {
  let out = '';
  let err = '';
  const t0 = performance.now();
  const code = await run([process.execPath, 'citymesh', ...args], {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
  });
  const result: SessionResult = { args, code, out, err, ms: Math.round(performance.now() - t0) };
  process.stdout.write(`${SESSION_PREFIX}${JSON.stringify(result)}\n`);
  if (code !== 0) {
    failed = true;
    if (!request.keepGoing) break;
  }
}
// Commands may leave timers or sockets behind them; the session is over either way.
process.exit(failed ? 1 : 0);
