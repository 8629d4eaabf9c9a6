import './polyfill.js';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { MeshError } from '../errors/mesh-error.js';

/** A gossip identity: the libp2p key and the peer id it yields. */
export interface GossipIdentity {
  readonly privateKey: PrivateKey;
  /** Base58 peer id, as published in cluster metadata. */
  readonly peerId: string;
}

/**
 * Loads the Ed25519 libp2p key kept in `file` (libp2p's protobuf encoding, base64), or
 * creates it. The key is separate from the node's X.509 key on purpose: the SVID renews
 * every few hours, while the peer id is published in metadata and must stay put.
 */
export async function loadOrCreateGossipKey(file: string): Promise<GossipIdentity> {
  if (existsSync(file)) return readGossipKey(file);
  const privateKey = await generateKeyPair('Ed25519');
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${Buffer.from(privateKeyToProtobuf(privateKey)).toString('base64')}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

/** Reads an existing gossip key; a damaged file is an error naming it, never silently replaced. */
export function readGossipKey(file: string): GossipIdentity {
  try {
    const privateKey = privateKeyFromProtobuf(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
    if (privateKey.type !== 'Ed25519') throw new Error(`a ${privateKey.type} key, not Ed25519`);
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
  } catch (cause) {
    throw new MeshError('INVALID_CONFIG', `gossip key ${file} is unreadable: ${(cause as Error).message}`, {
      details: { field: 'gossip-key' },
      cause,
    });
  }
}

/** True when `text` is a well-formed Ed25519 libp2p peer id. */
export function isEd25519PeerId(text: string): boolean {
  try {
    return peerIdFromString(text).type === 'Ed25519';
  } catch {
    return false;
  }
}
