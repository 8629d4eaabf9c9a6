import { existsSync } from 'node:fs';
import { CLI, cliResult, freePort, startCli, stopProcess } from '../../simulations/processes.js';

export { CLI, cliResult as citymesh, freePort, startCli as startCitymesh, stopProcess as stop };

/** Fails early with a clear message when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
}
