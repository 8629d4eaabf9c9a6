import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../common/clock.js';
import { type AppClients, unaryCall } from '../nodes/index.js';
import type { GetNodeStatusResponse } from '../proto/gen/citymesh/v1/node_service.js';
import { sleep } from './pool.js';

/**
 * What the simulation reads from `NodeService/GetNodeStatus`. The gossip fields are
 * left out when the node does not gossip (empty peer id) or does not say (an empty
 * source, no acceptance time), so reports of nodes without gossip stay truthful.
 */
export interface NodeStatusView {
  readonly metadataVersion: number;
  readonly anchorReachable: boolean;
  readonly offlineBudgetSeconds: number;
  /** When the node accepted the version it holds (ms), when it says. */
  readonly metadataAcceptedAtMs?: number;
  /** `anchor`, `gossip` or `cache`, when the node says. */
  readonly metadataSource?: string;
  readonly gossipPeerId?: string;
  readonly gossipConnectedPeers?: number;
  readonly catalogNotices?: number;
}

/** One status call to the app's home node, bounded by `deadlineMs`. */
export async function readNodeStatus(app: AppClients, deadlineMs = 5_000): Promise<NodeStatusView> {
  const res = await unaryCall<GetNodeStatusResponse>((cb) =>
    app.node.getNodeStatus({}, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, cb),
  );
  const gossips = res.gossipPeerId !== '';
  return {
    metadataVersion: res.metadataVersion,
    anchorReachable: res.anchorReachable,
    offlineBudgetSeconds: res.offlineBudgetRemainingSeconds,
    ...(res.metadataAcceptedAt ? { metadataAcceptedAtMs: res.metadataAcceptedAt.getTime() } : {}),
    ...(res.metadataSource ? { metadataSource: res.metadataSource } : {}),
    ...(gossips
      ? {
          gossipPeerId: res.gossipPeerId,
          gossipConnectedPeers: res.gossipConnectedPeers,
          catalogNotices: res.catalogNotices,
        }
      : {}),
  };
}

/** When a node was first seen holding a version, and when it says it accepted it. */
export interface VersionReached {
  readonly version: number;
  readonly observedAtMs: number;
  /** The node's own acceptance time, else the observation: the better of the two. */
  readonly reachedAtMs: number;
  readonly source?: string;
}

/**
 * Polls a node's status until it holds a metadata version ≥ `minVersion()` (a function:
 * the version may be learnt while polling). Status calls that fail (a restarting or
 * frozen node) are retried until `deadlineMs` passes.
 *
 * @throws Error when the deadline passes first, naming the version last seen
 */
export async function waitForVersion(
  app: AppClients,
  minVersion: () => number,
  options: { clock: Clock; deadlineMs: number; intervalMs: number },
): Promise<VersionReached> {
  const until = options.clock.nowMs() + options.deadlineMs;
  let last = 'no answer';
  for (;;) {
    try {
      const status = await readNodeStatus(app, Math.min(5_000, Math.max(500, until - options.clock.nowMs())));
      const observedAtMs = options.clock.nowMs();
      last = `v${status.metadataVersion}`;
      if (status.metadataVersion >= minVersion()) {
        return {
          version: status.metadataVersion,
          observedAtMs,
          reachedAtMs: Math.min(observedAtMs, status.metadataAcceptedAtMs ?? observedAtMs),
          ...(status.metadataSource ? { source: status.metadataSource } : {}),
        };
      }
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (options.clock.nowMs() >= until) {
      throw new Error(`still ${last} after ${Math.round(options.deadlineMs / 1000)} s, waiting for v${minVersion()}`);
    }
    await sleep(options.intervalMs);
  }
}

/**
 * How often to poll each of `nodes` nodes while waiting for a version: often enough
 * for a precise time when the node does not report its own acceptance time, rarely
 * enough that 26 pollers do not load the machine they measure.
 */
export function pollIntervalMs(nodes: number): number {
  return Math.min(250, Math.max(50, 10 * nodes));
}
