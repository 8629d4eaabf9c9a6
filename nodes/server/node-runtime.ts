import { statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Clock } from '../../common/clock.js';
import { isMeshError, MeshError } from '../../common/errors/index.js';
import { type Logger, silentLogger } from '../../common/logger.js';
import type { Stores } from '../../common/stores/index.js';
import { NodeServiceService } from '../../proto/gen/citymesh/v1/node_service.js';
import { openSqliteStores } from '../../stores/index.js';
import { MemoryReplayCache, type ReplayCache } from '../exchange/index.js';
import { type NodeGossip, startGossipIfBound } from '../gossip/index.js';
import { startNodeHttps } from '../http/node-https.js';
import { NodePolicy } from '../policy/node-policy.js';
import { cityCaDue, renewCityCa } from '../trust/city-ca-renewal.js';
import type { NodeIdentity } from '../trust/identity.js';
import { nodePath, readNodeFile } from '../trust/node-files.js';
import { TrustState } from '../trust/trust-state.js';
import { CallerAuthenticator } from './caller.js';
import { unary } from './handler.js';
import { startNodeOidc } from './node-oidc.js';
import { type LiveFacts, type MetadataSource, nodeStatus } from './node-status.js';
import { PeerDialer } from './peer-dialer.js';
import { addReflection } from './reflection.js';
import { NodeTlsIdentity } from './tls-identity.js';

/** Services whose answers need current cluster metadata; NOT_SERVING once it expires. */
export const EXCHANGE_SERVICES = [
  'citymesh.v1.CatalogService',
  'citymesh.v1.DatasetService',
  'citymesh.v1.CapabilityService',
  'citymesh.v1.AgreementService',
] as const;

/** Everything a running node's services share. */
export interface NodeContext {
  readonly dir: string;
  readonly identity: NodeIdentity;
  readonly trust: TrustState;
  readonly stores: Stores;
  readonly clock: Clock;
  readonly log: Logger;
  readonly tls: NodeTlsIdentity;
  readonly dialer: PeerDialer;
  readonly callers: CallerAuthenticator;
  readonly live: LiveFacts;
  readonly replay: ReplayCache;
  /** The providing city's access decisions; its version is reported in status and audit. */
  readonly policy: NodePolicy;
}

/** Adds the exchange services to the server; given by the caller so this file stays small. */
export type ServiceInstaller = (server: grpc.Server, context: NodeContext) => Promise<{ close(): Promise<void> }>;

export interface StartNodeOptions {
  readonly dir: string;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Address to listen on; the port comes from the node's gRPC endpoint unless given. */
  readonly host?: string;
  readonly port?: number;
  /**
   * Port of the HTTPS listener (federation endpoints); default: the port of the city's
   * entity id. `false`: no HTTPS listener.
   */
  readonly httpsPort?: number | false;
  /** How often to pull cluster metadata from the anchor; default 30 s. */
  readonly refreshIntervalMs?: number;
  /** How often to look for a newly activated policy version in the store; default 1 s. */
  readonly policyPollMs?: number;
  readonly install?: ServiceInstaller;
  /**
   * Gossip with the cluster's other nodes when the node has a gossip key that metadata
   * binds to it (default); `false`: pulls only. `listen` overrides the metadata's address.
   */
  readonly gossip?: false | { readonly listen?: string; readonly catalogPollMs?: number; readonly redialMs?: number };
}

export interface RunningNode {
  readonly context: NodeContext;
  readonly port: number;
  /** The HTTPS listener's URL, when there is one. */
  readonly httpsUrl?: string;
  /** The node's gossip, when it runs. */
  readonly gossip: NodeGossip | undefined;
  /** Pulls metadata now (as the timer does); never throws. */
  refresh(): Promise<void>;
  /** Renews the SVID if past half its life (as the timer does, every minute); never throws. */
  renewCertificate(): Promise<boolean>;
  /** Picks up a rotated OIDC key set now (the refresh timer does it too). */
  reloadOidc(): Promise<boolean>;
  /** Follows a newly activated policy version now (the poll does it every second). */
  refreshPolicy(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Starts a joined city node: mTLS gRPC with the node's SVID (renewed in place), health
 * and reflection, metadata pulls on a timer, SVID renewal at half-life.
 */
/** The longest a stop waits for admitted metadata versions to be written. */
const STOP_FLUSH_MS = 5_000;

export async function startNode(options: StartNodeOptions): Promise<RunningNode> {
  const { dir, clock } = options;
  const log = options.logger ?? silentLogger;
  const identity = readIdentity(dir);
  const stores = openSqliteStores(nodePath(dir, 'store'));
  const live: LiveFacts = {
    refreshedAt: undefined,
    anchorReachable: false,
    storeOk: true,
    metadataAcceptedAt: cachedAt(dir),
    metadataSource: 'cache',
  };
  let gossip: NodeGossip | undefined;
  const closers: (() => Promise<void> | void)[] = [() => stores.close()];
  try {
    const trust = await TrustState.load(dir, clock);
    // Stopping waits for the versions already admitted to reach the disk (they are written
    // off the event loop, gossip.md §5.1.1), so a node stopped right after a revocation
    // restarts holding it; a failing disk, retried with back-off, cannot hold a stop up
    // longer than STOP_FLUSH_MS (the start-up pull brings the version back).
    closers.push(() => Promise.race([trust.flush(), delay(STOP_FLUSH_MS, undefined, { ref: false })]));
    const lifetime = () => {
      try {
        return trust.metadata.parameters.certificate_lifetime_hours;
      } catch {
        return 24;
      }
    };
    // A version from gossip is a metadata change like a pulled one; a pulled one is passed
    // on by gossip, so nodes that missed the anchor's publication still converge.
    const accepted = (version: number, source: MetadataSource) => {
      live.metadataAcceptedAt = clock.now();
      live.metadataSource = source;
      log.info({ event: 'metadata.accepted', version, source }, 'cluster metadata updated');
    };
    const refresh = async () => {
      try {
        const before = trust.status().metadataVersion;
        const r = await trust.refresh();
        live.refreshedAt = clock.now();
        live.anchorReachable = true;
        if (r.changed) {
          accepted(r.version, 'anchor');
          gossip?.metadataChanged();
          gossip
            ?.publishMetadata(readNodeFile(dir, 'metadata'), before)
            .catch((err: unknown) =>
              log.warn({ event: 'gossip.publish_failed', err: errorText(err) }, 'publish failed'),
            );
        }
      } catch (err) {
        live.anchorReachable = !(isMeshError(err) && err.code === 'ANCHOR_UNAVAILABLE');
        log.warn(
          { event: 'metadata.refresh_failed', err: errorText(err), budget: trust.offlineBudgetSeconds() },
          'metadata pull failed',
        );
      }
    };
    await refresh();
    const tls = await NodeTlsIdentity.load(dir, stores.keys, clock, lifetime());
    const dialer = new PeerDialer(tls, trust, clock);
    closers.push(() => dialer.close());
    // One replay cache for exchange grants, whether a node forwards them or an app trades
    // them for a peer access token: each grant is usable once across both paths.
    const replay = new MemoryReplayCache();
    const oidc = await startNodeOidc({ dir, identity, stores, trust, clock, log, replay });
    closers.push(() => oidc.close());
    const callers = new CallerAuthenticator(dir, identity, trust, tls.rootPem, clock, oidc.tokens, replay);
    const policy = await NodePolicy.open(stores.policies, dir, clock);
    const followPolicy = () =>
      policy.refresh().then(
        (changed) => {
          if (changed) log.info({ event: 'policy.activated', version: policy.version }, 'policy version in force');
          return changed;
        },
        (err: unknown) => {
          log.error({ event: 'policy.refresh_failed', err: errorText(err) }, 'policy refresh failed');
          return false;
        },
      );
    const context: NodeContext = {
      dir,
      identity,
      trust,
      stores,
      clock,
      log,
      tls,
      dialer,
      callers,
      live,
      replay,
      policy,
    };

    const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
    const health = new HealthImplementation({ '': 'SERVING', 'citymesh.v1.NodeService': 'SERVING' });
    health.addToServer(server);
    addReflection(server);
    server.addService(NodeServiceService, {
      getNodeStatus: unary(context, 'GetNodeStatus', async () => nodeStatus(trust, tls, live, policy.version)),
    });
    if (options.install) {
      const installed = await options.install(server, context);
      closers.push(() => installed.close());
    }
    const updateHealth = () => {
      const serving = trust.offlineBudgetSeconds() > 0 ? 'SERVING' : 'NOT_SERVING';
      for (const service of EXCHANGE_SERVICES) health.setStatus(service, serving);
    };
    updateHealth();

    const port = options.port ?? Number(identity.grpcEndpoint.split(':').at(-1));
    // Client certificates are asked for but not required at the TLS layer: apps may come
    // with an access token instead. Every call is authenticated by `CallerAuthenticator`,
    // and nodes are always held to mTLS there.
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(tls, tls, false);
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${options.host ?? '127.0.0.1'}:${port}`, credentials, (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => server.forceShutdown(), 2000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        }),
    );

    const renew = () =>
      tls.renewIfDue(clock, lifetime()).then(
        (renewed) => {
          if (renewed) log.info({ event: 'svid.renewed', notAfter: tls.notAfter }, 'node certificate renewed');
          return renewed;
        },
        (err: unknown) => {
          log.error({ event: 'svid.renew_failed', err: errorText(err) }, 'node certificate renewal failed');
          return false;
        },
      );
    let httpsUrl: string | undefined;
    if (options.httpsPort !== false) {
      const entity = new URL(identity.entityId);
      const https = await startNodeHttps(
        context,
        options.host ?? '127.0.0.1',
        options.httpsPort ?? Number(entity.port || 443),
        oidc.handler,
      );
      closers.push(() => https.close());
      httpsUrl = https.url;
    }

    if (options.gossip !== false) {
      gossip = await startGossipIfBound({
        dir,
        identity,
        trust,
        stores,
        storeFile: nodePath(dir, 'store'),
        rootPem: tls.rootPem,
        clock,
        log,
        onMetadata: (version) => {
          live.refreshedAt = clock.now();
          accepted(version, 'gossip');
          updateHealth();
        },
        ...(options.gossip ?? {}),
      });
    }
    if (gossip !== undefined) {
      const running = gossip;
      live.gossip = () => running.stats();
      closers.push(() => running.stop());
    }

    const timers = [
      setInterval(() => {
        void refresh().then(updateHealth);
        oidc
          .reload()
          .catch((err: unknown) =>
            log.error({ event: 'oidc.reload_failed', err: errorText(err) }, 'OIDC reload failed'),
          );
      }, options.refreshIntervalMs ?? 30_000),
      setInterval(() => {
        updateHealth();
        void renew();
        if (cityCaDue(dir, clock.now())) {
          renewCityCa({ dir, keys: stores.keys, clock }).then(
            (r) => log.info({ event: 'city_ca.renewed', notAfter: r.notAfter }, 'city CA renewed through the anchor'),
            (err: unknown) =>
              log.error({ event: 'city_ca.renew_failed', err: errorText(err) }, 'city CA renewal failed'),
          );
        }
      }, 60_000),
      setInterval(() => void followPolicy(), options.policyPollMs ?? 1000),
    ];
    for (const t of timers) t.unref();
    closers.push(() => timers.forEach(clearInterval));
    log.info({ event: 'node.serving', node: identity.spiffeId, port: bound }, 'serving');
    return {
      context,
      port: bound,
      ...(httpsUrl ? { httpsUrl } : {}),
      gossip,
      refresh: async () => {
        await refresh();
        updateHealth();
      },
      renewCertificate: renew,
      reloadOidc: () => oidc.reload(),
      refreshPolicy: followPolicy,
      stop: () => closeAll(closers),
    };
  } catch (err) {
    await closeAll(closers);
    throw err;
  }
}

function readIdentity(dir: string): NodeIdentity {
  try {
    return JSON.parse(readNodeFile(dir, 'identity')) as NodeIdentity;
  } catch (cause) {
    throw new MeshError('INVALID_CONFIG', `${dir} holds no joined node; run \`citymesh node join\` first`, {
      details: { field: 'dir' },
      cause,
    });
  }
}

async function closeAll(closers: (() => Promise<void> | void)[]): Promise<void> {
  for (const close of closers.reverse()) await close();
}

/** When the cached metadata was written: the acceptance time a restart can still tell. */
function cachedAt(dir: string): Date | undefined {
  try {
    return statSync(nodePath(dir, 'metadata')).mtime;
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export { exchangeResource } from './node-oidc.js';
