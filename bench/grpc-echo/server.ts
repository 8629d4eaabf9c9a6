import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EchoCerts } from './service.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The compiled server entry, whether this module runs from `dist/` or from source (vitest). */
export const ECHO_SERVER_ENTRY = HERE.includes(`${sep}dist${sep}`)
  ? resolve(HERE, 'server-process.js')
  : resolve(HERE, '../../dist/bench/grpc-echo/server-process.js');

export interface EchoServer {
  /** `localhost:<port>`: dial it by name, not IP (TLS server names cannot be IPs, DEP0123). */
  readonly address: string;
  readonly pid: number;
  /** Stops the server process and waits until it has exited (idempotent). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

/** Starts the bare grpc-js mTLS echo server in a child process. */
export function startEchoServer(certs: EchoCerts): Promise<EchoServer> {
  if (!existsSync(ECHO_SERVER_ENTRY)) {
    return Promise.reject(new Error(`${ECHO_SERVER_ENTRY} is missing: run \`npm run build\` first`));
  }
  // No inherited execArgv: a test runner's loader flags mean nothing to this plain JS entry.
  const child = fork(ECHO_SERVER_ENTRY, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
    const timer = setTimeout(
      () => fail(new Error(`echo server not ready in ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.once('error', fail);
    const earlyExit = (code: number | null, signal: string | null): void =>
      fail(new Error(`echo server exited early (${code ?? signal})`));
    child.once('exit', earlyExit);
    child.once('message', (message: { port?: number; error?: string }) => {
      if (message.port === undefined) return fail(new Error(`echo server failed: ${message.error}`));
      clearTimeout(timer);
      child.off('exit', earlyExit);
      resolveStart({ address: `localhost:${message.port}`, pid: child.pid!, stop });
    });
    child.send(certs);
  });
}
