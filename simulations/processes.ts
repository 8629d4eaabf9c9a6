import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSessionOutput, type SessionResult } from './session-protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const IN_DIST = HERE.includes(`${sep}dist${sep}`);

/** The compiled `citymesh` entry point, whether this file runs from `dist/` or from source. */
export const CLI = IN_DIST ? resolve(HERE, '../cli/main.js') : resolve(HERE, '../dist/cli/main.js');

/** The compiled session entry ({@link runCliSession}). */
export const SESSION_ENTRY = IN_DIST
  ? resolve(HERE, 'cli-session.js')
  : resolve(HERE, '../dist/simulations/cli-session.js');

/**
 * The V8 flags a `citymesh node serve` process runs with; operators give the same on
 * node's command line, since `NODE_OPTIONS` refuses `--optimize-for-size` (README, "Node
 * memory"). A node's live heap is about 55 MB, nearly all
 * of it compiled code and module sources, but at V8's defaults its RSS was 160–230 MB: the
 * young generation grows to 32 MiB (two 16 MiB semi-spaces, which module loading alone
 * fills) and the old generation may grow to four times its live size between collections.
 * 4 MiB semi-spaces hold a young generation of 8 MiB; a 512 MiB old-space limit makes V8
 * size the node as a memory-constrained heap, collecting the old generation when it has
 * grown by about 40 % instead of 300 %, and stopping a node whose live heap passes 512 MiB
 * (ten times what one holds) instead of letting it grow. `--optimize-for-size` has V8 keep
 * less: smaller heap growth steps and less optimized code; in a 27-city simulation it took
 * the nodes from 143.0 to 133.2 MB (mean) for about 16 % more CPU. Figures: README, "Node
 * memory".
 */
export const NODE_SERVE_V8_FLAGS: readonly string[] = Object.freeze([
  '--max-semi-space-size=4',
  '--max-old-space-size=512',
  '--optimize-for-size',
]);

/**
 * glibc malloc settings for a `citymesh node serve` (README, "Node memory"): OpenSSL,
 * nghttp2 and SQLite allocate through malloc from the main thread, libuv's pool (WebCrypto
 * signatures, file I/O) and V8's workers, and glibc may give each such thread an arena of
 * its own (up to eight per core) that keeps what was freed in it. Two arenas, and a fixed trim threshold so that freed
 * memory at the top of the heap goes back to the system (by default the threshold grows
 * with the largest block ever freed, up to 64 MiB): 3 MB less per node at 27 cities.
 */
export const NODE_SERVE_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '131072',
});

const isServe = (args: readonly string[]) => args[0] === 'node' && args[1] === 'serve';

/** Node's argv for `citymesh <args>`: {@link NODE_SERVE_V8_FLAGS} first for a `node serve`. */
export function cliArgv(args: readonly string[]): string[] {
  return [...(isServe(args) ? NODE_SERVE_V8_FLAGS : []), CLI, ...args];
}

/**
 * The environment of `citymesh <args>`: `env` with {@link NODE_SERVE_ENV} for a `node serve`;
 * a variable `env` already sets is left as it is.
 */
export function cliEnv(args: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return isServe(args) ? { ...NODE_SERVE_ENV, ...env } : env;
}

/** Every child process started here and not yet exited, so a stopped run can take them along. */
const LIVE = new Set<ChildProcess>();

function track<T extends ChildProcess>(child: T): T {
  LIVE.add(child);
  child.once('exit', () => LIVE.delete(child));
  return child;
}

/**
 * Stops every child process this module started that is still running (a frozen one is
 * woken first), and resolves once they are all gone: what a simulation that is itself
 * told to stop must do, or its anchor and nodes would outlive it.
 */
export function stopAllChildren(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return Promise.all([...LIVE].map((child) => stopProcess(child, signal))).then(() => undefined);
}

/** Runs `citymesh <args>` as its own process to completion; killed after `timeoutMs`. */
export function cliResult(
  args: readonly string[],
  cwd: string,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    track(
      execFile(process.execPath, [CLI, ...args], { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      }),
    );
  });
}

/** Runs `citymesh <args>`; rejects with its stderr when it fails. */
export async function runCli(args: readonly string[], cwd: string): Promise<string> {
  const r = await cliResult(args, cwd);
  if (r.code !== 0) throw new Error(r.stderr.trim() || `citymesh ${args[0]} exited with ${r.code}`);
  return r.stdout;
}

/**
 * Starts a long-running `citymesh <args>`; resolves with the first stdout match of `ready`.
 * Its output keeps being read (a full pipe would block it), but only until it is ready.
 */
export function startCli(
  args: readonly string[],
  cwd: string,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, cliArgv(args), { cwd, env: cliEnv(args), stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    let out = '';
    let err = '';
    let started = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`citymesh ${args.slice(0, 2).join(' ')} not ready in ${timeoutMs / 1000} s: ${err.slice(-1000)}`),
      );
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (started) return;
      out += d.toString();
      const match = out.match(ready);
      if (match) {
        started = true;
        out = '';
        clearTimeout(timer);
        resolve({ child, match });
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      if (!started) err = (err + d.toString()).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`citymesh ${args.slice(0, 2).join(' ')} exited with ${code ?? signal}: ${err.trim()}`));
    });
  });
}

/**
 * Runs several `citymesh` commands in one process, in order (see `cli-session.ts`);
 * resolves with each one's outcome. Unless `keepGoing`, rejects with the stderr of the
 * first command that fails.
 */
export function runCliSession(
  commands: readonly (readonly string[])[],
  cwd: string,
  options: { keepGoing?: boolean; timeoutMs?: number } = {},
): Promise<SessionResult[]> {
  return new Promise((done, fail) => {
    const child = track(spawn(process.execPath, [SESSION_ENTRY], { cwd, stdio: ['pipe', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const results = parseSessionOutput(out);
      const failed = results.find((r) => r.code !== 0);
      if (failed && !options.keepGoing) {
        fail(new Error(failed.err.trim() || `citymesh ${failed.args.join(' ')} exited with ${failed.code}`));
      } else if (results.length < commands.length && !failed) {
        fail(new Error(`citymesh session ended early (${signal ?? code}): ${err.trim().slice(-500)}`));
      } else {
        done(results);
      }
    });
    child.stdin.end(JSON.stringify({ commands, keepGoing: options.keepGoing === true }));
  });
}

/** Resident memory of a live process in MB (`VmRSS` of `/proc/<pid>/status`); undefined once it is gone. */
export function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}

/** Stops a child process and waits until it is gone. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    // A frozen process (SIGSTOP) would never act on the signal.
    child.kill('SIGCONT');
    child.kill(signal);
  });
}

/**
 * A TCP port that was free a moment ago on loopback: for processes started alongside a
 * running simulation, where a fixed range would collide.
 */
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
