import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { formatSpiffeId } from '../../common/ids/index.js';
import { findMember, verifyCertificatePath } from '../../trust-anchor/index.js';
import { APPS_FILE, type RegisteredApp, readApps } from '../apps/app-registry.js';
import { type PeerAuthContext, peerChainOf } from '../exchange/grpc-peer.js';
import { type AuthenticatedPeer, authenticatePeer } from '../exchange/peer-auth.js';
import { MemoryReplayCache, type ReplayCache } from '../exchange/replay-cache.js';
import type { AccessTokenVerifier } from '../oidc/access-token-verifier.js';
import { verifyGrpcDpopProof } from '../oidc/dpop-proof-grpc.js';
import type { PeerAccessTokenClaims } from '../oidc/peer-token-claims.js';
import type { NodeIdentity } from '../trust/identity.js';
import type { TrustState } from '../trust/trust-state.js';

const MAX_VERIFIED = 10_000;

/**
 * A leaf whose path verified under metadata `version`. Nodes are re-checked by
 * `authenticatePeer` (which has its own cache, and checks revocations), apps only have
 * their registration read again.
 */
type VerifiedLeaf =
  | { readonly kind: 'node'; readonly version: number; readonly notAfterMs: number }
  | {
      readonly kind: 'app';
      readonly version: number;
      readonly notAfterMs: number;
      readonly spiffeId: string;
      readonly clientId: string;
    };

/**
 * Who made a call: another city's node (over mTLS), or an app of this city, known by its
 * X.509-SVID or by an access token of this city's OpenID Provider. `subject` is whom a
 * token was issued to (a person, or the app itself); absent for certificate callers.
 */
export type Caller =
  | { readonly kind: 'node'; readonly peer: AuthenticatedPeer }
  | { readonly kind: 'app'; readonly spiffeId: string; readonly app: RegisteredApp; readonly subject?: string }
  | VisitorCaller;

/**
 * An app of another member city calling this node directly with a peer access token
 * (identity.md §8.2). It may make exactly the exchange its home city authorised
 * (`claims.exchange`) and nothing else: it is never forwarded and holds no local role.
 */
export interface VisitorCaller {
  readonly kind: 'visitor';
  /** The app's SPIFFE id at its home city. */
  readonly spiffeId: string;
  readonly claims: PeerAccessTokenClaims;
}

/** Who a caller is, for error messages. */
export function describeCaller(caller: Caller): string {
  switch (caller.kind) {
    case 'node':
      return `node ${caller.peer.spiffeId}`;
    case 'app':
      return `app ${caller.app.clientId}`;
    case 'visitor':
      return `app ${caller.spiffeId} of ${caller.claims.city}`;
  }
}

/** What a call offers to authenticate it: its TLS peer and its request metadata. */
export interface CallCredentials {
  getAuthContext(): PeerAuthContext;
  readonly metadata?: { get(key: string): unknown[] };
  /** `/<package.Service>/<Method>`, what a DPoP proof's `htu` names. */
  getPath?(): string;
}

/**
 * Identifies the caller of every gRPC call from its client certificate. Nodes are held
 * to the cluster metadata (`authenticatePeer`); apps must be this city's, issued by one
 * of its current CAs, registered here and not disabled.
 */
export class CallerAuthenticator {
  readonly #dir: string;
  readonly #identity: NodeIdentity;
  readonly #trust: TrustState;
  readonly #rootPem: string;
  readonly #clock: Clock;
  readonly #tokens: AccessTokenVerifier | undefined;
  readonly #replay: ReplayCache;
  #apps: { mtimeMs: number; byId: Map<string, RegisteredApp> } = { mtimeMs: -1, byId: new Map() };
  /** Leaves already verified, by DER (base64), valid for one metadata version. */
  readonly #verified = new Map<string, VerifiedLeaf>();

  constructor(
    dir: string,
    identity: NodeIdentity,
    trust: TrustState,
    rootPem: string,
    clock: Clock,
    tokens?: AccessTokenVerifier,
    replay: ReplayCache = new MemoryReplayCache(),
  ) {
    this.#tokens = tokens;
    this.#replay = replay;
    this.#dir = dir;
    this.#identity = identity;
    this.#trust = trust;
    this.#rootPem = rootPem;
    this.#clock = clock;
  }

  authenticate(call: CallCredentials): Caller | Promise<Caller> {
    const chain = peerChainOf(call.getAuthContext());
    const metadata = this.#trust.metadata;
    if (chain.length === 0) return this.#tokenCaller(call);
    const nowMs = this.#clock.nowMs();
    const key = Buffer.from(chain[0]!).toString('base64');
    const known = this.#verified.get(key);
    if (known !== undefined && known.version === metadata.version && nowMs < known.notAfterMs) {
      // The path was verified under this metadata version; the app's registration is
      // read again on every call, so disabling an app takes effect at once.
      return known.kind === 'node'
        ? { kind: 'node', peer: authenticatePeer(chain, { metadata, rootPem: this.#rootPem, now: this.#clock.now() }) }
        : { kind: 'app', spiffeId: known.spiffeId, app: this.#app(known.clientId) };
    }
    const leafPem = toPem(chain[0]!);
    if (!isAppLeaf(leafPem)) {
      const peer = authenticatePeer(chain, { metadata, rootPem: this.#rootPem, now: this.#clock.now() });
      this.#remember(key, { kind: 'node', version: metadata.version, notAfterMs: Number.POSITIVE_INFINITY });
      return { kind: 'node', peer };
    }
    const own = findMember(metadata, this.#identity.city);
    const revokedSerials = metadata.revocations.filter((r) => r.kind === 'certificate').map((r) => r.id);
    let lastError: unknown;
    for (const caPem of own.ca_certificates) {
      try {
        const verified = verifyCertificatePath({
          leafPem,
          chainPems: [caPem],
          rootPems: [this.#rootPem],
          now: this.#clock.now(),
          revokedSerials,
          expected: { cluster: this.#identity.cluster, city: this.#identity.city },
        });
        const app = this.#app(verified.name);
        this.#remember(key, {
          kind: 'app',
          version: metadata.version,
          notAfterMs: verified.notAfter.getTime(),
          spiffeId: verified.spiffeId,
          clientId: verified.name,
        });
        return { kind: 'app', spiffeId: verified.spiffeId, app };
      } catch (err) {
        lastError = err;
        if (err instanceof MeshError && err.code !== 'CERTIFICATE_INVALID') throw err;
      }
    }
    throw lastError instanceof MeshError
      ? lastError
      : new MeshError('CERTIFICATE_INVALID', 'the app certificate was not issued by a current CA of this city', {});
  }

  /**
   * An app without a client certificate: it must carry an access token of this city's
   * provider for this node's exchange API. Nodes never get here: they always use mTLS.
   */
  async #tokenCaller(call: CallCredentials): Promise<Caller> {
    const values = call.metadata?.get('authorization') ?? [];
    const value = values.length === 1 ? String(values[0]) : '';
    const scheme = value.startsWith('Bearer ') ? 'Bearer' : value.startsWith('DPoP ') ? 'DPoP' : undefined;
    if (this.#tokens === undefined || scheme === undefined) {
      throw new MeshError(
        'CREDENTIALS_MISSING',
        'the caller presented neither a client certificate nor an access token (`authorization: Bearer|DPoP <at+jwt>`)',
        {},
      );
    }
    const accessToken = value.slice(scheme.length + 1);
    const verified = this.#tokens.verifyAny(accessToken);
    const { claims } = verified;
    if (claims.cnf !== undefined) {
      // A bound token is only as good as the proof of its key on this very call.
      const proofs = call.metadata?.get('dpop') ?? [];
      await verifyGrpcDpopProof({
        proof: proofs.length === 1 ? String(proofs[0]) : undefined,
        accessToken,
        jkt: claims.cnf.jkt,
        htu: `https://${this.#identity.grpcEndpoint}${call.getPath?.() ?? ''}`,
        now: this.#clock.now(),
        replay: this.#replay,
      });
    }
    if (verified.peer) return { kind: 'visitor', spiffeId: verified.claims.client_id, claims: verified.claims };
    const local = verified.claims;
    const spiffeId = formatSpiffeId({
      cluster: this.#identity.cluster,
      city: this.#identity.city,
      kind: 'app',
      name: local.client_id,
    });
    const app: RegisteredApp = {
      clientId: local.client_id,
      org: local.org,
      industry: local.industry,
      level: local.level,
      regionCode: local.region,
      roles: local.roles,
      registeredAt: new Date(local.iat * 1000).toISOString(),
    };
    return { kind: 'app', spiffeId, app, subject: local.sub };
  }

  #remember(key: string, entry: VerifiedLeaf): void {
    // Bounded: a flood of distinct certificates cannot grow memory without limit.
    if (this.#verified.size >= MAX_VERIFIED) this.#verified.clear();
    this.#verified.set(key, entry);
  }

  #app(clientId: string): RegisteredApp {
    let mtimeMs = 0;
    try {
      mtimeMs = statSync(join(this.#dir, APPS_FILE)).mtimeMs;
    } catch {
      // No registry yet: no app is registered.
    }
    if (mtimeMs !== this.#apps.mtimeMs) {
      this.#apps = { mtimeMs, byId: new Map(readApps(this.#dir).map((a) => [a.clientId, a])) };
    }
    const app = this.#apps.byId.get(clientId);
    if (app === undefined || app.disabledAt !== undefined) {
      throw new MeshError(
        'PEER_IDENTITY_MISMATCH',
        `app ${clientId} is ${app === undefined ? 'not registered with' : 'disabled on'} this node`,
        { details: { clientId } },
      );
    }
    return app;
  }
}

function toPem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Routes by the leaf's SPIFFE path; the verification that follows decides the rest. */
function isAppLeaf(pem: string): boolean {
  try {
    const san = new X509Certificate(pem).subjectAltName;
    return /URI:spiffe:\/\/[^/]+\/app\//.test(san ?? '');
  } catch {
    return false;
  }
}
