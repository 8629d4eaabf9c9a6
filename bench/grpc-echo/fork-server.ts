import { fork, type Serializable } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** A compiled process entry of this folder, whether this module runs from `dist/` or from source (vitest). */
export function processEntry(file: string): string {
  return HERE.includes(`${sep}dist${sep}`) ? resolve(HERE, file) : resolve(HERE, '../../dist/bench/grpc-echo', file);
}

/** A bare grpc-js server running in a child process. */
export interface EchoServer {
  /** `localhost:<port>`: dial it by name, not IP (TLS server names cannot be IPs, DEP0123). */
  readonly address: string;
  readonly pid: number;
  /** Stops the server process and waits until it has exited (idempotent). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

/**
 * Forks `entry` (a server process of this folder), sends it `init` over IPC and resolves
 * once it answers `{ port }`. `label` names the server in errors.
 */
export function forkServer(entry: string, init: Serializable, label: string): Promise<EchoServer> {
  if (!existsSync(entry)) {
    return Promise.reject(new Error(`${entry} is missing: run \`npm run build\` first`));
  }
  // No inherited execArgv: a test runner's loader flags mean nothing to this plain JS entry.
  const child = fork(entry, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) child.send('stop');
      else child.kill('SIGTERM');
    }
    await exited;
  };
  return new Promise((resolveStart, reject) => {
    const fail = (error: Error): void => {
      clearTimeout(timer);
      void stop().then(() => reject(error));
    };
    const timer = setTimeout(() => fail(new Error(`${label} not ready in ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.once('error', fail);
    const earlyExit = (code: number | null, signal: string | null): void =>
      fail(new Error(`${label} exited early (${code ?? signal})`));
    child.once('exit', earlyExit);
    child.once('message', (message: { port?: number; error?: string }) => {
      if (message.port === undefined) return fail(new Error(`${label} failed: ${message.error}`));
      clearTimeout(timer);
      child.off('exit', earlyExit);
      resolveStart({ address: `localhost:${message.port}`, pid: child.pid!, stop });
    });
    child.send(init);
  });
}
