import { isIP } from 'node:net';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { MeshError } from '../errors/mesh-error.js';
import { isEd25519PeerId } from './key.js';

/*
 * What a gossip binding (peer id + address, as cluster metadata publishes them for a node
 * or the anchor) must look like. Shared by the anchor's enrolment checks, the metadata
 * schema and the nodes that build their own binding, so no side accepts what another refuses.
 */

/** The only multiaddr shapes published as gossip addresses, for messages. */
export const GOSSIP_ADDRESS_FORMS = '/ip4|/ip6|/dns4|/dns6/<host>/tcp/<port>';

const HOST_PROTOCOLS = ['ip4', 'ip6', 'dns4', 'dns6'];
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Why `text` is not a gossip peer id citymesh publishes, or `undefined` when it is one:
 * the base58 form of an Ed25519 peer id. libp2p also reads CID spellings of the same id;
 * refusing them keeps one signed string per identity.
 */
export function gossipPeerIdProblem(text: unknown): string | undefined {
  if (typeof text === 'string' && VALID_PEER_IDS.has(text)) return undefined;
  if (typeof text !== 'string' || !isEd25519PeerId(text) || peerIdFromString(text).toString() !== text) {
    return 'must be the base58 peer id of an Ed25519 libp2p key (12D3KooW...)';
  }
  VALID_PEER_IDS.add(text);
  return undefined;
}

/**
 * Strings already found valid, so that checking the same binding again costs a lookup:
 * every metadata document lists every node's peer id and address, and each node verifies
 * each version (decoding a peer id and parsing a multiaddr is most of the shape check of a
 * large cluster's metadata). The answer depends on the string alone; only valid ones are
 * kept, at most {@link MAX_REMEMBERED} of each kind.
 */
class Remembered {
  readonly #strings = new Set<string>();
  has(text: string): boolean {
    return this.#strings.has(text);
  }
  add(text: string): void {
    if (this.#strings.size >= MAX_REMEMBERED) this.#strings.clear();
    this.#strings.add(text);
  }
}

/** Enough for every binding of a few hundred nodes. */
const MAX_REMEMBERED = 4096;
const VALID_PEER_IDS = new Remembered();
const VALID_ADDRESSES = new Remembered();

/**
 * Why `text` is not a gossip address citymesh publishes, or `undefined` when it is one.
 * Only a host and a TCP port: anything more (`/p2p/...`, `/ws`, relays) would let a
 * signed binding point peers somewhere other than the node's own listener. The text must
 * be canonical, so the same address is always the same signed string.
 */
export function gossipAddressProblem(text: unknown): string | undefined {
  if (typeof text === 'string' && VALID_ADDRESSES.has(text)) return undefined;
  const problem = addressProblem(text);
  if (problem === undefined) VALID_ADDRESSES.add(text as string);
  return problem;
}

function addressProblem(text: unknown): string | undefined {
  if (typeof text !== 'string' || text === '') return 'must be a multiaddr string';
  let parsed: ReturnType<typeof multiaddr>;
  try {
    parsed = multiaddr(text);
  } catch (err) {
    return `is not a multiaddr (${(err as Error).message})`;
  }
  const [host, tcp, ...rest] = parsed.getComponents();
  if (host === undefined || !HOST_PROTOCOLS.includes(host.name) || tcp?.name !== 'tcp' || rest.length > 0) {
    return `must have the form ${GOSSIP_ADDRESS_FORMS}`;
  }
  if (Number(tcp.value) < 1) return 'must name a TCP port from 1 to 65535';
  if (host.name.startsWith('dns') && !DNS_NAME.test(host.value ?? '')) return 'must name a valid DNS host';
  if (parsed.toString() !== text) return `must be written canonically, as ${parsed.toString()}`;
  return undefined;
}

/**
 * The gossip multiaddr for `host` and `port`: `localhost` becomes `/ip4/127.0.0.1` (a
 * name libp2p would have to resolve, while loopback is what it means), IP literals keep
 * their family, any other name is `/dns4`. IPv6 literals may come bracketed, as URLs
 * and `host:port` endpoints write them.
 *
 * @throws MeshError `MALFORMED_REQUEST` naming `field` when the host or port cannot form one
 */
export function gossipAddressOf(host: string, port: number, field = 'gossipAddress'): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const kind = isIP(bare);
  const prefix =
    bare.toLowerCase() === 'localhost'
      ? '/ip4/127.0.0.1'
      : kind === 4
        ? `/ip4/${bare}`
        : kind === 6
          ? `/ip6/${bare}`
          : `/dns4/${bare}`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new MeshError('MALFORMED_REQUEST', `${field}: the gossip port must be 1 to 65535, got ${port}`, {
      details: { field, rule: 'gossip-port' },
    });
  }
  // IPv6 literals have several spellings; publish the one multiaddr prints.
  const address = kind === 6 ? canonicalMultiaddr(`${prefix}/tcp/${port}`) : `${prefix}/tcp/${port}`;
  const problem = gossipAddressProblem(address);
  if (problem !== undefined) {
    throw new MeshError('MALFORMED_REQUEST', `${field}: no gossip address from host "${host}": ${address} ${problem}`, {
      details: { field, rule: 'gossip-address' },
    });
  }
  return address;
}

/** `text` as multiaddr prints it, or unchanged when it does not parse (the caller's check reports why). */
function canonicalMultiaddr(text: string): string {
  try {
    return multiaddr(text).toString();
  } catch {
    return text;
  }
}

/**
 * The TCP port of a `host:port` endpoint (IPv6 hosts bracketed), or `undefined` when it
 * has none; with the host as written.
 */
export function splitHostPort(endpoint: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(endpoint);
  return match ? { host: match[1]!, port: Number(match[2]) } : undefined;
}
