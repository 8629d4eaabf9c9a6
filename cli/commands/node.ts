import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { isMeshError, MeshError } from '../../common/errors/index.js';
import { createLogger } from '../../common/logger.js';
import { nodePath } from '../../nodes/trust/node-files.js';
import { openSqliteStores } from '../../stores/index.js';
import { type CliIo, printJson } from '../io.js';

/**
 * `citymesh node ...`: a city exchange node. Each action imports its part of the node
 * itself: the runtime behind `serve` (gRPC, OIDC provider, libp2p) alone takes over a
 * second to load, which `join`, `status` and `--help` would otherwise pay for nothing.
 */
export function registerNodeCommands(program: Command, io: CliIo): void {
  const node = program.command('node').description('a city exchange node: join the cluster, report trust status');

  node
    .command('join')
    .description('join the cluster with a join token: keys are generated here, the anchor is pinned by the token')
    .requiredOption('--dir <dir>', 'where the node keeps its keys, certificates and store')
    .requiredOption('--anchor <url>', "the trust anchor's https URL")
    .requiredOption('--token <token>', 'the join token from `citymesh anchor invite`')
    .option('--node <name>', 'node name within the city', 'n1')
    .option('--endpoint <host:port>', 'gRPC endpoint peers dial', 'localhost:7443')
    .option('--entity-id <url>', "the city's federation entity id", 'https://localhost:8443')
    .option(
      '--gossip-port <port>',
      'TCP port of the gossip listener on the endpoint host (default: endpoint port + 2)',
      (v) => Number.parseInt(v, 10),
    )
    .option('--no-gossip', 'join without a gossip binding (no peer id in cluster metadata)')
    .action(
      async (opts: {
        dir: string;
        anchor: string;
        token: string;
        node: string;
        endpoint: string;
        entityId: string;
        gossipPort?: number;
        gossip: boolean;
      }) => {
        if (!opts.gossip && opts.gossipPort !== undefined) {
          throw new MeshError('MALFORMED_REQUEST', '--gossip-port and --no-gossip exclude each other', {
            details: { field: 'gossip-port' },
          });
        }
        const { joinCluster } = await import('../../nodes/trust/join.js');
        const identity = await joinCluster({
          dir: resolve(opts.dir),
          anchorUrl: opts.anchor,
          token: opts.token,
          nodeName: opts.node,
          entityId: opts.entityId,
          grpcEndpoint: opts.endpoint,
          gossip: opts.gossip && (opts.gossipPort === undefined ? {} : { port: opts.gossipPort }),
          clock: systemClock,
        });
        io.out(`joined cluster ${identity.cluster} as ${identity.spiffeId}\n`);
      },
    );

  node
    .command('status')
    .description('show the cluster metadata this node trusts and its offline budget')
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--refresh', 'pull the current metadata from the anchor first (kept only if it verifies)')
    .action(async (opts: { dir: string; refresh?: boolean }) => {
      const { TrustState } = await import('../../nodes/trust/trust-state.js');
      const state = await TrustState.load(resolve(opts.dir), systemClock);
      let anchorReachable: boolean | undefined;
      if (opts.refresh) {
        try {
          await state.refresh();
          anchorReachable = true;
        } catch (err) {
          if (!isMeshError(err, 'ANCHOR_UNAVAILABLE')) throw err;
          // Unreachable anchor: keep serving on the cached metadata until it expires.
          anchorReachable = false;
        }
      }
      printJson(io, { ...state.status(), ...(anchorReachable === undefined ? {} : { anchorReachable }) });
    });

  node
    .command('renew-ca')
    .description(
      "renew this node's city CA through the anchor (mTLS with the node certificate); the node does it by itself at half-life",
    )
    .requiredOption('--dir <dir>', 'the node folder')
    .action(async (opts: { dir: string }) => {
      const { renewCityCa } = await import('../../nodes/trust/city-ca-renewal.js');
      const dir = resolve(opts.dir);
      const stores = openSqliteStores(nodePath(dir, 'store'));
      try {
        const r = await renewCityCa({ dir, keys: stores.keys, clock: systemClock });
        io.out(`city CA renewed; valid until ${r.notAfter.toISOString()}\n`);
      } finally {
        await stores.close();
      }
    });

  node
    .command('serve')
    .description('serve the mTLS gRPC exchange (catalog, datasets, capabilities), health and reflection')
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'gRPC port (default: the port of the endpoint given at join)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--refresh-interval <seconds>', 'how often to pull cluster metadata', (v) => Number.parseInt(v, 10), 30)
    .option('--no-gossip', 'pull metadata only; do not join the cluster gossip mesh')
    .action(async (opts: { dir: string; host: string; port?: number; refreshInterval: number; gossip: boolean }) => {
      const { startNode } = await import('../../nodes/server/node-runtime.js');
      const { installExchangeServices } = await import('../../nodes/server/exchange-services.js');
      const logger = createLogger({ name: 'node', level: 'info' });
      const running = await startNode({
        dir: resolve(opts.dir),
        clock: systemClock,
        logger,
        host: opts.host,
        ...(opts.port === undefined ? {} : { port: opts.port }),
        refreshIntervalMs: opts.refreshInterval * 1000,
        install: installExchangeServices,
        ...(opts.gossip ? {} : { gossip: false as const }),
      });
      const { identity } = running.context;
      io.out(`node ${identity.spiffeId} serving at ${opts.host}:${running.port}\n`);
      if (running.gossip)
        io.out(`gossip peer ${running.gossip.peerId} at ${running.gossip.mesh.addresses.join(' ')}\n`);
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await running.stop();
    });
}
