import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { CLI, cliResult, startCli, stopProcess } from '../../simulations/processes.js';

export { CLI, cliResult as citymesh, startCli as startCitymesh, stopProcess as stop };

/** Fails early with a clear message when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
}

/** A TCP port that was free a moment ago on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
