import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getCity } from '../common/ids/index.js';
import { type AppClients, connectApp } from '../nodes/index.js';
import { cliArgv, cliEnv, freePort, runCli } from '../simulations/processes.js';
import { SAMPLE_DATASETS, writeSampleCatalog } from '../simulations/samples/index.js';

const CLUSTER = 'jjj';
/** The app's home city and the city that owns the dataset: two separate node processes. */
export const HOME_CITY = 'tianjin';
export const PEER_CITY = 'beijing';
const APP_ID = 'bench-app';
const READY_TIMEOUT_MS = 30_000;

/** A public dataset that needs no agreement: the peer's default policy serves it to any member city. */
const OPEN = SAMPLE_DATASETS.find((d) => d.classification === 'public' && !d.requiresAgreement)!;

/** The running cluster the exchange suite measures, and how to take it down. */
export interface ExchangeCluster {
  /** The bench process's app clients to its home node. */
  readonly app: AppClients;
  /** `<cluster>/<peer city>/<org>/<name>`: owned by the peer, so every fetch is forwarded. */
  readonly datasetId: string;
  /** Process ids by role, for progress lines and CPU accounting. */
  readonly pids: { readonly anchor: number; readonly peer: number; readonly home: number };
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

/** SIGTERM, then SIGKILL if the process has not gone after a grace period: a hung node must not outlive the run. */
function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `citymesh <args>` and resolves with the first stdout match of `ready`. The child
 * is registered in `children` before it is ready, so a start that times out is still
 * stopped by the caller's cleanup (a bench must never leave a node behind).
 */
function serve(
  args: readonly string[],
  cwd: string,
  ready: RegExp,
  children: ChildProcess[],
): Promise<RegExpMatchArray> {
  const child = spawn(process.execPath, cliArgv(args), { cwd, env: cliEnv(args), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`citymesh ${args.join(' ')} not ready: ${err}`)), READY_TIMEOUT_MS);
    const onOut = (d: Buffer) => {
      out += d.toString();
      const match = out.match(ready);
      if (match === null) return;
      clearTimeout(timer);
      // Once ready, stop collecting: a long run must not grow a buffer nobody reads.
      child.stdout?.off('data', onOut);
      child.stdout?.resume();
      resolve(match);
    };
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', (d: Buffer) => {
      // Keep only the tail: enough to explain a failed start.
      err = (err + d.toString()).slice(-4000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`citymesh ${args.join(' ')} exited with ${code}: ${err}`));
    });
  });
}

async function joinCity(work: string, anchorUrl: string, city: string): Promise<void> {
  const invite = await runCli(['anchor', 'invite', '--dir', 'anchor', '--city', city], work);
  const token = invite.trim().split('\n').at(-1)!;
  const [grpcPort, entityPort] = [await freePort(), await freePort()];
  await runCli(
    [
      'node',
      'join',
      '--dir',
      city,
      '--anchor',
      anchorUrl,
      '--token',
      token,
      '--endpoint',
      `localhost:${grpcPort}`,
      '--entity-id',
      `https://localhost:${entityPort}`,
    ],
    work,
  );
}

/** Publishes the peer's sample catalog and imports the records of the one open dataset. */
async function publishOpenDataset(work: string): Promise<string> {
  const files = writeSampleCatalog(join(work, 'samples'), CLUSTER, PEER_CITY);
  await runCli(['catalog', 'publish', files.manifest, '--dir', PEER_CITY], work);
  const datasetId = `${CLUSTER}/${PEER_CITY}/${OPEN.ownerOrg}/${OPEN.name}`;
  const item = files.imports.find((i) => i.datasetId === datasetId);
  if (item === undefined) throw new Error(`the sample catalog has no ${datasetId}`);
  await runCli(['datasets', 'import', datasetId, item.file, '--dir', PEER_CITY, '--id-field', 'id'], work);
  return datasetId;
}

/**
 * The cluster as the simulation runs it, each part its own process on loopback: an
 * anchor, two enrolled cities with their own stores, an open dataset published by the
 * peer city, an app registered with the home city, both nodes serving. Everything
 * started is stopped when any step fails.
 */
export async function startExchangeCluster(workDir: string, progress: (m: string) => void): Promise<ExchangeCluster> {
  const work = join(workDir, 'exchange-cluster');
  mkdirSync(work, { recursive: true });
  const children: ChildProcess[] = [];
  let app: AppClients | undefined;
  const stop = async () => {
    app?.close();
    // Nodes first, anchor last: nodes pull metadata from it until they go.
    for (const child of children.reverse()) await stopProcess(child);
  };
  try {
    await runCli(['anchor', 'init', '--cluster', CLUSTER, '--dir', 'anchor', '--port', String(await freePort())], work);
    const anchorUrl = (
      await serve(['anchor', 'serve', '--dir', 'anchor'], work, /serving at (https:\/\/\S+)/, children)
    )[1]!;
    for (const city of [HOME_CITY, PEER_CITY]) await joinCity(work, anchorUrl, city);
    const datasetId = await publishOpenDataset(work);
    await runCli(
      [
        'apps',
        'add',
        '--dir',
        HOME_CITY,
        '--id',
        APP_ID,
        '--org',
        'city-data-office',
        '--industry',
        'transport',
        '--region',
        getCity(HOME_CITY).region,
        '--out',
        'app',
      ],
      work,
    );
    for (const city of [PEER_CITY, HOME_CITY]) {
      await serve(['node', 'serve', '--dir', city], work, /serving at (\S+)/, children);
    }
    app = connectApp(join(work, 'app'));
    const [anchor, peer, home] = children.map((c) => c.pid ?? 0) as [number, number, number];
    const pids = { anchor, peer, home };
    progress(`exchange: anchor ${anchor}, ${PEER_CITY} node ${peer}, ${HOME_CITY} node ${home} serving; ${datasetId}`);
    return { app, datasetId, pids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
