import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Where a node keeps its trust material under its `--dir`. */
export const NODE_FILES = {
  identity: 'identity.json',
  store: 'node.db',
  bundle: 'trust/bundle.pem',
  cityCa: 'trust/city-ca.pem',
  nodeCert: 'trust/node-cert.pem',
  statement: 'trust/statement.jwt',
  metadata: 'trust/metadata.jwt',
  pins: 'trust/anchor-keys.json',
  /** The node's libp2p key (Ed25519), whose peer id the anchor publishes in metadata. */
  gossipKey: 'trust/gossip-key',
} as const;

/** Absolute path of one of the node's files. */
export function nodePath(dir: string, file: keyof typeof NODE_FILES): string {
  return join(dir, NODE_FILES[file]);
}

/**
 * Writes a file so that a crash leaves the old content or the new, never a torn mix:
 * write a temporary file, fsync it, rename over the target, fsync the folder.
 */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

let temporaries = 0;

/**
 * {@link writeFileAtomic} on libuv's thread pool: the same steps (temporary file, fsync,
 * rename, fsync of the folder), without blocking the event loop while the disk syncs.
 * Each call has its own temporary file, so calls for one path may overlap; which one's
 * content stays is then the one renamed last, so callers that care order their calls.
 */
export async function writeFileAtomicAsync(path: string, content: string, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++temporaries}`;
  try {
    const file = await open(tmp, 'w', mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** Reads one of the node's files as text. */
export function readNodeFile(dir: string, file: keyof typeof NODE_FILES): string {
  return readFileSync(nodePath(dir, file), 'utf8');
}
