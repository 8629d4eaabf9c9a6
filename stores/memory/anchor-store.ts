import type {
  AnchorIdentity,
  AnchorMember,
  AnchorNode,
  AnchorStore,
  CaRenewal,
  JoinTokenRecord,
  MetadataVersion,
  Revocation,
} from '../../common/stores/anchor-store.js';
import {
  checkIdentityRewrite,
  checkNextVersion,
  consumeToken,
  type Enrolment,
  gossipPeerIdTaken,
  isOtherNode,
  joinTokenExists,
  revocationExists,
  unknownNode,
  validateCaRenewal,
  validateEnrolment,
  validateIdentity,
  validateJoinToken,
  validateMetadata,
  validateRevocation,
} from '../shared/anchor-rules.js';
import { clone } from '../shared/clone.js';
import { requireInteger } from '../shared/validate.js';

/** Orders by code unit, as SQLite's BINARY collation does. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * {@link AnchorStore} in memory, for tests and fakes. Every write checks all its rules
 * before changing anything, so a refused write leaves no trace, as a rolled-back
 * transaction would.
 */
export class MemoryAnchorStore implements AnchorStore {
  #identity: AnchorIdentity | undefined;
  readonly #tokens = new Map<string, JoinTokenRecord>();
  readonly #members = new Map<string, Omit<AnchorMember, 'nodes'>>();
  /** city → node name → node. */
  readonly #nodes = new Map<string, Map<string, AnchorNode>>();
  readonly #revocations: Revocation[] = [];
  /** Version `n` at index `n - 1`. */
  readonly #metadata: MetadataVersion[] = [];

  async getIdentity(): Promise<AnchorIdentity | undefined> {
    return this.#identity === undefined ? undefined : clone(this.#identity);
  }

  async putIdentity(identity: AnchorIdentity): Promise<void> {
    const incoming = validateIdentity(identity);
    if (this.#identity === undefined) this.#identity = incoming;
    else checkIdentityRewrite(this.#identity, incoming);
  }

  async putJoinToken(record: JoinTokenRecord): Promise<void> {
    const incoming = validateJoinToken(record);
    if (this.#tokens.has(incoming.tokenId)) throw joinTokenExists(incoming.tokenId);
    this.#tokens.set(incoming.tokenId, incoming);
  }

  async getJoinToken(tokenId: string): Promise<JoinTokenRecord | undefined> {
    const stored = this.#tokens.get(tokenId);
    return stored === undefined ? undefined : clone(stored);
  }

  async getMember(city: string): Promise<AnchorMember | undefined> {
    return this.#member(city);
  }

  async listMembers(): Promise<readonly AnchorMember[]> {
    return [...this.#members.keys()].sort(byCodeUnit).map((city) => this.#member(city) as AnchorMember);
  }

  async listRevocations(): Promise<readonly Revocation[]> {
    return [...this.#revocations]
      .sort((a, b) => a.version - b.version || byCodeUnit(a.kind, b.kind) || byCodeUnit(a.id, b.id))
      .map(clone);
  }

  async latestMetadata(): Promise<MetadataVersion | undefined> {
    const latest = this.#metadata.at(-1);
    return latest === undefined ? undefined : clone(latest);
  }

  async getMetadata(version: number): Promise<MetadataVersion | undefined> {
    const stored = this.#metadata[requireInteger('version', version, 1) - 1];
    return stored === undefined ? undefined : clone(stored);
  }

  async enrol(input: Enrolment): Promise<void> {
    const enrolment = validateEnrolment(input);
    const used = consumeToken(this.#tokens.get(enrolment.tokenId), enrolment);
    checkNextVersion(this.#metadata.length, enrolment.metadata);
    const { gossipPeerId } = enrolment.node;
    if (gossipPeerId !== undefined) {
      const holder = [...this.#nodes.values()]
        .flatMap((nodes) => [...nodes.values()])
        .find((n) => n.gossipPeerId === gossipPeerId && isOtherNode(enrolment.node, n));
      if (holder !== undefined) throw gossipPeerIdTaken(enrolment.node, holder);
    }
    // Every check passed: from here on nothing throws, so the writes land together.
    this.#tokens.set(used.tokenId, used);
    const { city } = enrolment.member;
    if (!this.#members.has(city)) this.#members.set(city, enrolment.member);
    let nodes = this.#nodes.get(city);
    if (nodes === undefined) {
      nodes = new Map();
      this.#nodes.set(city, nodes);
    }
    nodes.set(enrolment.node.name, enrolment.node);
    this.#metadata.push(enrolment.metadata);
  }

  async revoke(revocation: Revocation, metadata: MetadataVersion): Promise<void> {
    const checked = validateRevocation(revocation, metadata);
    if (this.#revocations.some((r) => r.kind === checked.revocation.kind && r.id === checked.revocation.id)) {
      throw revocationExists(checked.revocation);
    }
    checkNextVersion(this.#metadata.length, checked.metadata);
    this.#revocations.push(checked.revocation);
    this.#metadata.push(checked.metadata);
  }

  async renewNodeCa(renewal: CaRenewal, metadata: MetadataVersion): Promise<void> {
    const checked = validateCaRenewal(renewal);
    const incoming = validateMetadata(metadata);
    const node = this.#nodes.get(checked.city)?.get(checked.name);
    if (node === undefined) throw unknownNode(checked);
    checkNextVersion(this.#metadata.length, incoming);
    this.#nodes.get(checked.city)!.set(checked.name, {
      ...node,
      caCertificatePem: checked.caCertificatePem,
      caSerial: checked.caSerial,
      previousCaCertificatePem: node.caCertificatePem,
    });
    this.#metadata.push(incoming);
  }

  async publishMetadata(metadata: MetadataVersion): Promise<void> {
    const incoming = validateMetadata(metadata);
    checkNextVersion(this.#metadata.length, incoming);
    this.#metadata.push(incoming);
  }

  #member(city: string): AnchorMember | undefined {
    const member = this.#members.get(city);
    if (member === undefined) return undefined;
    const nodes = [...(this.#nodes.get(city)?.values() ?? [])].sort((a, b) => byCodeUnit(a.name, b.name));
    return clone({ ...member, nodes });
  }
}
