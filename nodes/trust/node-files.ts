import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
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

/** Reads one of the node's files as text. */
export function readNodeFile(dir: string, file: keyof typeof NODE_FILES): string {
  return readFileSync(nodePath(dir, file), 'utf8');
}
