import type { Logger } from '../core/log/logger.js';
import { upstreamPresence } from '../core/planner/upstream.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';

/**
 * Tells the operator, in the log, when this node holds shards in a cluster with upstream gates or nodes: they call
 * objects over upstream's gRPC protocol, which goverse-node does not serve, so calls for those shards fail there
 * (shard custody is shared, object calls are not). Logged when it starts to hold, when the upstream members change,
 * and once when it no longer holds; not on every shard that comes and goes.
 */
export class UpstreamNotice {
  /** What was last logged: the upstream members while this node held shards, or null. */
  private logged: string | null = null;

  constructor(
    private readonly self: string,
    private readonly log: Logger,
  ) {}

  observe(snapshot: ClusterSnapshot): void {
    const next = this.situation(snapshot);
    const key = next === null ? null : `${next.nodes.join(',')}|${next.gates.join(',')}`;
    if (key === this.logged) return;
    this.logged = key;
    if (next === null) {
      this.log.info('no longer holding shards that upstream gates or nodes cannot call');
      return;
    }
    this.log.warn('this node holds shards in a cluster with upstream Goverse gates or nodes: their object calls cannot reach it', {
      shards: next.held,
      upstreamNodes: next.nodes,
      upstreamGates: next.gates,
      why: "upstream calls objects over its gRPC protocol; goverse-node serves HTTP/JSON. Shard custody is shared, object calls are not",
      advice: 'serve objects that upstream callers need from upstream nodes (pin their shards there), or keep the implementations apart',
    });
  }

  /** Null while this node holds no shard or no upstream process is registered. */
  private situation(snapshot: ClusterSnapshot): { nodes: readonly string[]; gates: readonly string[]; held: number } | null {
    // The common case (no upstream process) costs no pass over the shards.
    if (snapshot.gates.size === 0 && [...snapshot.nodes.keys()].every((a) => snapshot.nodeInfo.has(a))) return null;
    let held = 0;
    for (const e of snapshot.shards) if (e !== undefined && e.current === this.self) held++;
    if (held === 0) return null;
    const presence = upstreamPresence(snapshot, new Map([[this.self, held]]));
    return { nodes: presence.nodes, gates: presence.gates, held };
  }
}
