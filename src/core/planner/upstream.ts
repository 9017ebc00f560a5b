/**
 * Upstream Goverse processes in a cluster, and what they share with ours. Every goverse-node publishes
 * `<prefix>/nodeinfo/<addr>` in the same transaction as its node key, so an alive node without nodeinfo is an upstream
 * node; every gate is upstream's (goverse has no gate). Both implementations share shard custody (the keyspace), but
 * not object calls: upstream gates and nodes call the owner of an object's shard over upstream's gRPC protocol, which
 * goverse-node does not serve (its object API is HTTP/JSON), so a shard a goverse-node owns cannot be called from them.
 */
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { compareAddresses } from './context.js';

export interface UpstreamPresence {
  /** Alive nodes without nodeinfo, sorted. */
  readonly nodes: readonly string[];
  /** Registered gates, sorted. */
  readonly gates: readonly string[];
  /** The leader named in `<prefix>/leader` is an alive upstream node (it ignores our keyspace extensions). */
  readonly leader: string | null;
  /**
   * Shards whose CurrentNode is an alive goverse-node while upstream gates or nodes exist: their objects cannot be
   * called from those. 0 when there is no upstream caller.
   */
  readonly unreachableShards: number;
  /** Alive goverse-nodes owning such shards, sorted. */
  readonly unreachableOwners: readonly string[];
}

/** Whether an alive node is an upstream node (no nodeinfo). */
export function isUpstreamNode(snapshot: ClusterSnapshot, address: string): boolean {
  return snapshot.nodes.has(address) && !snapshot.nodeInfo.has(address);
}

/** `owned`, when given, counts the shards per CurrentNode (the view has it), so no pass over the shards is needed. */
export function upstreamPresence(snapshot: ClusterSnapshot, owned?: ReadonlyMap<string, number>): UpstreamPresence {
  const nodes = [...snapshot.nodes.keys()].filter((a) => !snapshot.nodeInfo.has(a)).sort(compareAddresses);
  const gates = [...snapshot.gates.keys()].sort(compareAddresses);
  const leaderAddress = snapshot.leader?.address ?? null;
  const leader = leaderAddress !== null && isUpstreamNode(snapshot, leaderAddress) ? leaderAddress : null;
  let unreachableShards = 0;
  const unreachableOwners: string[] = [];
  if (nodes.length > 0 || gates.length > 0) {
    const counts = owned ?? countOwned(snapshot);
    for (const [address, n] of counts) {
      if (n === 0 || !snapshot.nodes.has(address) || !snapshot.nodeInfo.has(address)) continue;
      unreachableShards += n;
      unreachableOwners.push(address);
    }
    unreachableOwners.sort(compareAddresses);
  }
  return { nodes, gates, leader, unreachableShards, unreachableOwners };
}

function countOwned(snapshot: ClusterSnapshot): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of snapshot.shards) if (e !== undefined && e.current !== '') counts.set(e.current, (counts.get(e.current) ?? 0) + 1);
  return counts;
}
