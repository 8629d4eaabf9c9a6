import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { type AppClients, connectApp } from '../nodes/index.js';
import { CheckRecorder } from './checks.js';
import type { PlannedEntry } from './exchange-phase.js';
import { LatencyBook } from './latency.js';
import { cityPort, type SimulationPlan } from './options.js';
import { rssMb, runCli, startCli, stopProcess } from './processes.js';
import { Progress } from './progress.js';
import type { CheckResult, NodeSummary } from './report.js';

/**
 * How often nodes pull cluster metadata from the anchor (`node serve --refresh-interval`):
 * the node's default, so revocation reach measures gossip, with the pull as the fallback
 * that still converges a node that missed it (after a partition, say). At 1 s, 27 nodes
 * re-downloading and re-verifying the metadata every second load the machine so much
 * that pulls beat gossip there.
 */
export const NODE_REFRESH_INTERVAL_SECONDS = 30;

/** A node or the anchor starts in a few seconds; on two cores shared with 27 running nodes it can take a minute. */
const START_TIMEOUT_MS = 120_000;

/** The `citymesh` arguments that run a city's node. */
export function nodeServeArgs(city: string): string[] {
  return ['node', 'serve', '--dir', city, '--refresh-interval', String(NODE_REFRESH_INTERVAL_SECONDS)];
}

/** Everything `runSimulation` needs beyond the checked options. */
export interface SimulationInit extends SimulationPlan {
  /** Emptied first (only when a simulation made it), then holds the anchor and one folder per city. */
  readonly workDir: string;
  readonly clock: Clock;
  /** Called as each check finishes. */
  readonly onCheck?: (result: CheckResult) => void;
  /** Progress lines (stderr in the CLI). */
  readonly onProgress?: (line: string) => void;
}

/**
 * The live state of one run shared by its phases: the processes (anchor, one node per
 * city), each city's app connection to its home node, the cities left out of later
 * phases and why, and what the report collects.
 */
export class SimulationRun {
  readonly init: SimulationInit;
  readonly work: string;
  readonly clock: Clock;
  readonly checks: CheckRecorder;
  readonly progress: Progress;
  readonly latency = new LatencyBook();
  readonly metrics: Record<string, number> = {};
  readonly trust: Record<string, Record<string, boolean>> = {};
  readonly trustFailures: Record<string, Record<string, string>> = {};
  readonly interop: Record<string, Record<string, { allowed: number; denied: number }>> = {};
  readonly interopWrong: Record<string, Record<string, number>> = {};
  readonly revocationReach: Record<string, number> = {};
  readonly rss = { afterExchange: {} as Record<string, number>, end: {} as Record<string, number> };
  readonly nodeSummaries: Record<string, NodeSummary> = {};
  /** Cities left out of later phases, with the reason (a failed check, a revocation). */
  readonly impaired = new Map<string, string>();
  /** Cities whose node ran at some point (their store holds an audit chain). */
  readonly started = new Set<string>();
  /** Cities whose node was killed with SIGKILL during the run. */
  readonly crashed = new Set<string>();
  /** The cluster's catalog by city, as a search found it once the nodes served. */
  catalog: Map<string, PlannedEntry[]> | undefined;
  exchangeMode: 'full' | 'sampled' | undefined;
  revoked: string | undefined;
  anchorUrl = '';
  #anchor: ChildProcess | undefined;
  readonly #nodes = new Map<string, ChildProcess>();
  readonly #apps = new Map<string, AppClients>();

  constructor(init: SimulationInit) {
    this.init = init;
    this.work = init.workDir;
    this.clock = init.clock;
    this.checks = new CheckRecorder(init.onCheck);
    this.progress = new Progress(init.onProgress ?? (() => {}), init.clock);
  }

  get cities(): string[] {
    return this.init.cities.map((c) => c.id);
  }

  /** Cities still taking part: not impaired. */
  active(): string[] {
    return this.cities.filter((c) => !this.impaired.has(c));
  }

  /** Active cities whose node runs. */
  serving(): string[] {
    return this.active().filter((c) => this.#nodes.has(c));
  }

  port(city: string): number {
    return cityPort(this.init.basePort, this.cities.indexOf(city));
  }

  dir(city: string): string {
    return join(this.work, city);
  }

  pid(city: string): number | undefined {
    return this.#nodes.get(city)?.pid;
  }

  /** The app of `city`, connected to its home node. */
  app(city: string): AppClients {
    let app = this.#apps.get(city);
    if (app === undefined) {
      app = connectApp(join(this.work, 'apps', city));
      this.#apps.set(city, app);
    }
    return app;
  }

  /** `citymesh anchor <args> --dir anchor`, as the anchor's operator runs it. */
  anchorCli(args: readonly string[]): Promise<string> {
    return runCli(['anchor', ...args, '--dir', 'anchor'], this.work);
  }

  async startAnchor(): Promise<{ url: string; pid: number }> {
    const serving = await startCli(
      ['anchor', 'serve', '--dir', 'anchor'],
      this.work,
      /serving at (https:\/\/\S+)/,
      START_TIMEOUT_MS,
    );
    this.#anchor = serving.child;
    this.anchorUrl = serving.match[1]!;
    return { url: this.anchorUrl, pid: serving.child.pid! };
  }

  get anchorRunning(): boolean {
    return this.#anchor !== undefined;
  }

  async stopAnchor(): Promise<void> {
    if (this.#anchor) await stopProcess(this.#anchor);
    this.#anchor = undefined;
  }

  /** Starts (or restarts) the city's node as its own process; resolves once it serves. */
  async startNode(city: string): Promise<number> {
    const serving = await startCli(nodeServeArgs(city), this.work, /serving at (\S+)/, START_TIMEOUT_MS);
    this.#nodes.set(city, serving.child);
    this.started.add(city);
    return serving.child.pid!;
  }

  async stopNode(city: string): Promise<void> {
    const child = this.#nodes.get(city);
    this.#nodes.delete(city);
    if (child) await stopProcess(child);
  }

  /** `kill -9`: the node gets no chance to finish anything. Resolves once it is gone. */
  async killNode(city: string): Promise<void> {
    const child = this.#nodes.get(city);
    this.#nodes.delete(city);
    this.crashed.add(city);
    if (child) await stopProcess(child, 'SIGKILL');
  }

  /** SIGSTOP / SIGCONT: the process is frozen, its sockets open but silent. */
  signalNode(city: string, signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#nodes.get(city)?.kill(signal);
  }

  /** Records each running node's resident memory (MB) under `when`. */
  snapshotRss(when: keyof SimulationRun['rss']): void {
    for (const [city, child] of this.#nodes) {
      const mb = rssMb(child.pid);
      if (mb !== undefined) this.rss[when][city] = mb;
    }
  }

  /** Stops every node (taking the end-of-run memory first) and closes the apps. */
  async stopNodes(): Promise<void> {
    if (Object.keys(this.rss.end).length === 0) this.snapshotRss('end');
    for (const app of this.#apps.values()) app.close();
    this.#apps.clear();
    await Promise.all([...this.#nodes.keys()].map((city) => this.stopNode(city)));
  }

  async close(): Promise<void> {
    await this.stopNodes();
    await this.stopAnchor();
  }
}
