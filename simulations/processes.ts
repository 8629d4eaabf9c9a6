import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The compiled `citymesh` entry point, whether this file runs from `dist/` or from source. */
export const CLI = HERE.includes(`${sep}dist${sep}`)
  ? resolve(HERE, '../cli/main.js')
  : resolve(HERE, '../dist/cli/main.js');

/** Runs `citymesh <args>` as its own process to completion; killed after `timeoutMs`. */
export function cliResult(
  args: readonly string[],
  cwd: string,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs `citymesh <args>`; rejects with its stderr when it fails. */
export async function runCli(args: readonly string[], cwd: string): Promise<string> {
  const r = await cliResult(args, cwd);
  if (r.code !== 0) throw new Error(r.stderr.trim() || `citymesh ${args[0]} exited with ${r.code}`);
  return r.stdout;
}

/** Starts a long-running `citymesh <args>`; resolves with the first stdout match of `ready`. */
export function startCli(
  args: readonly string[],
  cwd: string,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`citymesh ${args[0]} not ready in 20 s: ${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = out.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`citymesh ${args[0]} exited with ${code}: ${err}`));
    });
  });
}

/** Stops a child process and waits until it is gone. */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
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
