import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { stringify } from 'yaml';
import { systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/index.js';
import { readGossipKey } from '../../common/gossip/index.js';
import { createLogger } from '../../common/logger.js';
import type { Stores } from '../../common/stores/index.js';
import { openSqliteStores } from '../../stores/index.js';
import {
  AnchorPublisher,
  anchorGossipSettings,
  createAnchorGossipKey,
  loadTrustAnchorConfig,
  rootPinOf,
  startAnchorServer,
  TrustAnchor,
  type TrustAnchorConfig,
  type TrustAnchorSettings,
} from '../../trust-anchor/index.js';
import { type CliIo, printJson } from '../io.js';

const CONFIG_FILE = 'anchor.yaml';
const STORE_FILE = 'anchor.db';

/** The anchor's settings; with its gossip binding when configured, so every metadata version it signs carries it. */
function settingsOf(config: TrustAnchorConfig, dir: string): TrustAnchorSettings {
  const a = config.anchor;
  const gossip = anchorGossipSettings(dir, config);
  return {
    metadataLifetimeSeconds: a.metadataLifetimeSeconds,
    certificateLifetimeHours: a.certificateLifetimeHours,
    cityCaLifetimeHours: a.cityCaLifetimeHours,
    joinTokenLifetimeSeconds: a.joinTokenLifetimeSeconds,
    ...(gossip ? { gossip: gossip.binding } : {}),
  };
}

/** Opens the anchor kept in `dir` (config, store); the caller closes the stores. */
async function openAnchor(dir: string): Promise<{ config: TrustAnchorConfig; stores: Stores; anchor: TrustAnchor }> {
  const configFile = join(dir, CONFIG_FILE);
  if (!existsSync(configFile)) {
    throw new MeshError(
      'INVALID_CONFIG',
      `${dir} holds no trust anchor (no ${CONFIG_FILE}); run \`citymesh anchor init\` first`,
      {
        details: { field: 'dir' },
      },
    );
  }
  const config = loadTrustAnchorConfig(configFile);
  const stores = openSqliteStores(join(dir, STORE_FILE));
  try {
    return { config, stores, anchor: await TrustAnchor.open({ stores, clock: systemClock }, settingsOf(config, dir)) };
  } catch (err) {
    await stores.close();
    throw err;
  }
}

async function withAnchor<T>(dir: string, work: (anchor: TrustAnchor) => Promise<T>): Promise<T> {
  const { stores, anchor } = await openAnchor(dir);
  try {
    return await work(anchor);
  } finally {
    await stores.close();
  }
}

const int = (v: string) => Number.parseInt(v, 10);

/** `citymesh anchor ...`: the cluster's trust anchor. */
export function registerAnchorCommands(program: Command, io: CliIo): void {
  const anchor = program
    .command('anchor')
    .description("the cluster's trust anchor: enrol cities, sign metadata, revoke, rotate");

  anchor
    .command('init')
    .description('create a cluster: root CA, federation key, TLS certificate, metadata version 1')
    .requiredOption('--cluster <name>', 'cluster short name, e.g. jjj')
    .requiredOption('--dir <dir>', 'where the anchor keeps its config and store')
    .option('--port <port>', 'HTTPS port', int, 7000)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--entity-id <url>', 'federation entity id (default https://localhost:<port>)')
    .option('--metadata-lifetime <seconds>', 'offline budget: lifetime of each metadata version', int)
    .option('--certificate-lifetime <hours>', 'lifetime of node certificates', int)
    .option('--city-ca-lifetime <hours>', 'lifetime of city intermediate CAs', int)
    .option('--gossip-port <port>', "TCP port of the anchor's gossip publisher (default: HTTPS port + 2)", int)
    .option('--no-gossip', 'do not gossip: no gossip key, and metadata names no anchor publisher')
    .action(
      async (opts: {
        cluster: string;
        dir: string;
        port: number;
        host: string;
        entityId?: string;
        metadataLifetime?: number;
        certificateLifetime?: number;
        cityCaLifetime?: number;
        gossipPort?: number;
        gossip: boolean;
      }) => {
        const dir = resolve(opts.dir);
        if (existsSync(join(dir, CONFIG_FILE))) {
          throw new MeshError('ALREADY_EXISTS', `${dir} already holds a trust anchor`, { details: { field: 'dir' } });
        }
        const file = {
          anchor: {
            cluster: opts.cluster,
            entityId: opts.entityId ?? `https://localhost:${opts.port}`,
            listen: { host: opts.host, port: opts.port },
            dataDir: dir,
            ...(opts.metadataLifetime ? { metadataLifetimeSeconds: opts.metadataLifetime } : {}),
            ...(opts.certificateLifetime ? { certificateLifetimeHours: opts.certificateLifetime } : {}),
            ...(opts.cityCaLifetime ? { cityCaLifetimeHours: opts.cityCaLifetime } : {}),
            ...(opts.gossip ? { gossip: { port: opts.gossipPort ?? opts.port + 2 } } : {}),
          },
        };
        if (!opts.gossip && opts.gossipPort !== undefined) {
          throw new MeshError('INVALID_CONFIG', '--gossip-port and --no-gossip exclude each other', {
            details: { field: 'gossip-port' },
          });
        }
        const config = loadTrustAnchorConfig(file);
        mkdirSync(dir, { recursive: true });
        // The key comes first: metadata version 1 already names the anchor's peer id.
        if (config.anchor.gossip) await createAnchorGossipKey(dir);
        const stores = openSqliteStores(join(dir, STORE_FILE));
        try {
          const settings = settingsOf(config, dir);
          const created = await TrustAnchor.initialize({ stores, clock: systemClock }, settings, {
            cluster: config.anchor.cluster,
            entityId: config.anchor.entityId,
          });
          writeFileSync(join(dir, CONFIG_FILE), stringify(file), { mode: 0o600 });
          io.out(`cluster ${created.identity.cluster}: trust anchor ${created.identity.entityId}\n`);
          io.out(`root pin ${rootPinOf(created.trustBundlePem)}\n`);
          if (settings.gossip) io.out(`gossip peer ${settings.gossip.peerId} at ${settings.gossip.address}\n`);
          io.out(`next: citymesh anchor serve --dir ${opts.dir}\n`);
        } finally {
          await stores.close();
        }
      },
    );

  anchor
    .command('serve')
    .description('serve the federation endpoints, cluster metadata and enrolment over HTTPS')
    .requiredOption('--dir <dir>', 'the anchor folder')
    .option('--port <port>', 'HTTPS port (default: from the config)', int)
    .option('--no-gossip', 'do not publish metadata on gossip, even when the anchor is configured to')
    .action(async (opts: { dir: string; port?: number; gossip: boolean }) => {
      const dir = resolve(opts.dir);
      const { config, stores, anchor: trustAnchor } = await openAnchor(dir);
      const logger = createLogger({ name: 'anchor', level: 'info' });
      const server = await startAnchorServer({
        anchor: trustAnchor,
        host: config.anchor.listen.host,
        port: opts.port ?? config.anchor.listen.port,
        logger,
      });
      // Configured gossip (`anchor init` writes the key and a gossip port) publishes every
      // new metadata version within a poll of it reaching the store, whichever process wrote it.
      const gossip = opts.gossip ? anchorGossipSettings(dir, config) : undefined;
      const publisher = gossip
        ? await AnchorPublisher.start({
            privateKey: readGossipKey(gossip.keyFile).privateKey,
            listen: gossip.listenAddress,
            cluster: config.anchor.cluster,
            latest: () => stores.anchor.latestMetadata(),
            log: logger,
          }).catch(async (err: unknown) => {
            await server.close();
            await stores.close();
            throw err;
          })
        : undefined;
      // Re-sign well before expiry so nodes always hold at least half an offline budget.
      const refresh = setInterval(
        () => void trustAnchor.currentMetadata().catch((err) => logger.error({ err }, 'metadata refresh failed')),
        Math.max(1000, (config.anchor.metadataLifetimeSeconds * 1000) / 4),
      );
      io.out(`anchor ${config.anchor.cluster} serving at ${server.url}\n`);
      if (publisher) io.out(`gossip peer ${publisher.peerId} publishing at ${gossip?.listenAddress}\n`);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      clearInterval(refresh);
      await publisher?.stop();
      await server.close();
      await stores.close();
    });

  anchor
    .command('invite')
    .description('issue a one-time join token for a city (printed alone on the last line)')
    .requiredOption('--dir <dir>', 'the anchor folder')
    .requiredOption('--city <city>', 'the city the token is for')
    .action(async (opts: { dir: string; city: string }) => {
      const invite = await withAnchor(resolve(opts.dir), (a) => a.invite(opts.city));
      io.out(`join token for ${opts.city}, single use, expires ${invite.expiresAt.toISOString()}:\n${invite.token}\n`);
    });

  anchor
    .command('revoke')
    .description('revoke a city, node, key or certificate: a new metadata version at once')
    .addArgument(program.createArgument('<kind>', 'what to revoke').choices(['city', 'node', 'key', 'certificate']))
    .argument('<id>', 'city name, node SPIFFE ID, key id or certificate serial')
    .requiredOption('--dir <dir>', 'the anchor folder')
    .requiredOption('--reason <text>', 'why (published in the revocation list)')
    .action(
      async (kind: 'city' | 'node' | 'key' | 'certificate', id: string, opts: { dir: string; reason: string }) => {
        const version = await withAnchor(resolve(opts.dir), (a) => a.revoke(kind, id, opts.reason));
        io.out(`revoked ${kind} ${id}: cluster metadata version ${version.version}\n`);
      },
    );

  anchor
    .command('rotate')
    .description("two-stage rollover of the anchor's federation key")
    .requiredOption('--dir <dir>', 'the anchor folder')
    .addOption(
      new Option('--stage <stage>', 'publish the next key, then (after a metadata refresh) activate it')
        .choices(['publish', 'activate'])
        .makeOptionMandatory(),
    )
    .option(
      '--force',
      'activate before the overlap has passed (a compromised key); nodes that missed the next key must re-join',
    )
    .action(async (opts: { dir: string; stage: 'publish' | 'activate'; force?: boolean }) => {
      const r = await withAnchor(resolve(opts.dir), (a) => a.rotate(opts.stage, { force: opts.force === true }));
      printJson(io, { stage: opts.stage, kid: r.kid, metadataVersion: r.version });
    });
}
