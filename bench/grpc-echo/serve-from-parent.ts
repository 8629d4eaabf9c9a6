import type { BoundServer } from './serve.js';

/**
 * The IPC protocol of this folder's server processes (forked by `forkServer`), so a
 * server never shares an event loop with the load generator: the process receives its
 * init message, answers `{ port }` once bound (or `{ error }`), and exits on `stop` or
 * when its parent goes away.
 */
export function serveFromParent<Init>(start: (init: Init) => Promise<BoundServer>): void {
  let running: BoundServer | undefined;
  let starting = false;
  const exit = (code: number): void => {
    running?.close?.();
    running?.server.forceShutdown();
    process.exit(code);
  };
  process.on('disconnect', () => exit(0));
  process.on('message', (message: unknown) => {
    if (message === 'stop') return exit(0);
    if (starting) return;
    starting = true;
    start(message as Init).then(
      (bound) => {
        running = bound;
        process.send?.({ port: bound.port });
      },
      (error: unknown) => {
        process.send?.({ error: String(error) });
        exit(1);
      },
    );
  });
}
