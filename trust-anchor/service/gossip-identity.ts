import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../common/errors/mesh-error.js';
import { gossipAddressOf } from '../../common/gossip/binding.js';
import { type GossipIdentity, loadOrCreateGossipKey, readGossipKey } from '../../common/gossip/key.js';
import type { TrustAnchorConfig } from '../config.js';
import type { AnchorGossipBinding } from './metadata.js';

/** The anchor's libp2p key, in its folder next to `anchor.yaml`. */
export const ANCHOR_GOSSIP_KEY_FILE = 'gossip-key';

/** What `anchor serve` needs to run the anchor's gossip publisher, and what metadata publishes about it. */
export interface AnchorGossipSettings {
  /** The Ed25519 libp2p key file (`<dir>/gossip-key`). */
  readonly keyFile: string;
  /** The multiaddr the publisher listens on: the configured listen host, the gossip port. */
  readonly listenAddress: string;
  /** The peer id and dialable address every metadata version carries as its `gossip` claim. */
  readonly binding: AnchorGossipBinding;
}

/** Creates the anchor's gossip key in `dir`, or loads the one a retried `anchor init` left. */
export function createAnchorGossipKey(dir: string): Promise<GossipIdentity> {
  return loadOrCreateGossipKey(join(dir, ANCHOR_GOSSIP_KEY_FILE));
}

/**
 * The anchor's gossip settings, or `undefined` when its configuration has no gossip port
 * (anchor folders made before gossip, or `anchor init --no-gossip`): such an anchor
 * signs metadata without the `gossip` claim. The published address takes its host from
 * the entity id, as the anchor's endpoint URLs do, so nodes dial the name they already
 * reach the anchor by; `localhost` is published as `/ip4/127.0.0.1`.
 *
 * @throws MeshError `INVALID_CONFIG` when gossip is configured but the key file is missing or unreadable
 */
export function anchorGossipSettings(dir: string, config: TrustAnchorConfig): AnchorGossipSettings | undefined {
  const { gossip, listen, entityId } = config.anchor;
  if (gossip === undefined) return undefined;
  const keyFile = join(dir, ANCHOR_GOSSIP_KEY_FILE);
  if (!existsSync(keyFile)) {
    throw new MeshError(
      'INVALID_CONFIG',
      `the anchor config sets gossip.port ${gossip.port} but ${keyFile} is missing; restore it, or remove anchor.gossip to run without gossip`,
      { details: { field: 'gossip-key' } },
    );
  }
  return {
    keyFile,
    listenAddress: gossipAddressOf(listen.host, gossip.port, 'anchor.listen.host'),
    binding: {
      peerId: readGossipKey(keyFile).peerId,
      address: gossipAddressOf(new URL(entityId).hostname, gossip.port, 'anchor.entityId'),
    },
  };
}
