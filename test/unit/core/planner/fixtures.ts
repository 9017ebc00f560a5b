import { encodeRecord, type LoadRecord, type NodeInfoRecord } from '../../../../src/core/keyspace/records.js';
import { formatShardValue, type ShardValue } from '../../../../src/core/keyspace/shardValue.js';
import type { PlanResult, ShardWrite } from '../../../../src/core/planner/plan.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv, type KvEvent } from '../../../../src/core/snapshot/snapshot.js';

export const PREFIX = '/goverse';

let revision = 0;
function kv(key: string, value: string, lease = '0'): Kv {
  revision++;
  return { key, value, modRevision: revision, createRevision: revision, lease };
}

export interface ClusterSpec {
  numShards: number;
  nodes: readonly string[];
  /** Shard values by ID; a missing or undefined entry leaves the key absent. */
  shards?: (id: number) => ShardValue | undefined;
  weights?: Readonly<Record<string, number>>;
  stopping?: readonly string[];
  drained?: readonly string[];
  loads?: Readonly<Record<string, LoadRecord>>;
}

export function nodeInfo(weight: number, state: NodeInfoRecord['state'] = 'running'): NodeInfoRecord {
  return { nodeId: 'x', opsUrl: 'http://x', apiUrl: 'http://x', version: 't', weight, startedAt: 0, state };
}

/** A snapshot built the way the watcher builds one: a range read through buildSnapshot. */
export function cluster(spec: ClusterSpec): ClusterSnapshot {
  const kvs: Kv[] = spec.nodes.map((n) => kv(`${PREFIX}/nodes/${n}`, n, '1'));
  for (let id = 0; id < spec.numShards; id++) {
    const v = spec.shards?.(id);
    if (v !== undefined) kvs.push(kv(`${PREFIX}/shard/${id}`, formatShardValue(v)));
  }
  const stopping = new Set(spec.stopping ?? []);
  for (const n of new Set([...Object.keys(spec.weights ?? {}), ...stopping])) {
    kvs.push(kv(`${PREFIX}/nodeinfo/${n}`, encodeRecord(nodeInfo(spec.weights?.[n] ?? 1, stopping.has(n) ? 'stopping' : 'running'))));
  }
  for (const n of spec.drained ?? []) kvs.push(kv(`${PREFIX}/drain/${n}`, encodeRecord({ at: 0, by: 'test' })));
  for (const [n, r] of Object.entries(spec.loads ?? {})) kvs.push(kv(`${PREFIX}/load/${n}`, encodeRecord(r)));
  return buildSnapshot(PREFIX, spec.numShards, kvs, revision);
}

export function put(snapshot: ClusterSnapshot, key: string, value: string, lease = '0'): ClusterSnapshot {
  return applyEvents(snapshot, [{ type: 'put', kv: kv(`${PREFIX}/${key}`, value, lease) }], revision).snapshot;
}

export function remove(snapshot: ClusterSnapshot, key: string): ClusterSnapshot {
  revision++;
  return applyEvents(snapshot, [{ type: 'delete', key: `${PREFIX}/${key}`, modRevision: revision }], revision).snapshot;
}

export function addNode(snapshot: ClusterSnapshot, node: string): ClusterSnapshot {
  return put(snapshot, `nodes/${node}`, node, '1');
}

/**
 * Applies planned writes as etcd would (CAS on the expected ModRevision; a stale write throws), then, with `claim`,
 * lets each new target take ownership at once (claim timing ignored, as in upstream's vectors, docs/UPSTREAM.md §14.3).
 */
export function applyWrites(snapshot: ClusterSnapshot, writes: readonly ShardWrite[], claim = true): ClusterSnapshot {
  const events: KvEvent[] = writes.map((w) => {
    const actual = snapshot.shards[w.shardId]?.modRevision ?? 0;
    if (actual !== w.expectedModRevision) throw new Error(`CAS failed on shard ${w.shardId}: ${actual} != ${w.expectedModRevision}`);
    const after = claim ? { ...w.after, current: w.after.target } : w.after;
    return { type: 'put', kv: kv(`${PREFIX}/shard/${w.shardId}`, formatShardValue(after)) };
  });
  return applyEvents(snapshot, events, revision).snapshot;
}

export interface Convergence {
  snapshot: ClusterSnapshot;
  rounds: number;
  moves: number;
  last: PlanResult;
  results: PlanResult[];
}

/** Plans and applies until the planner skips (or maxRounds), threading the rebalance state as the leader does. */
export function converge(
  start: ClusterSnapshot,
  plan: (s: ClusterSnapshot, state: 'idle' | 'active') => PlanResult,
  maxRounds = 1000,
): Convergence {
  let snapshot = start;
  let state: 'idle' | 'active' = 'idle';
  const results: PlanResult[] = [];
  let moves = 0;
  for (let round = 0; round < maxRounds; round++) {
    const r = plan(snapshot, state);
    results.push(r);
    if (r.kind === 'skip') return { snapshot, rounds: round, moves, last: r, results };
    moves += r.writes.length;
    snapshot = applyWrites(snapshot, r.writes);
    state = 'active';
  }
  throw new Error(`no convergence within ${maxRounds} rounds`);
}

/** Shards per target node. */
export function targetCounts(snapshot: ClusterSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of snapshot.shards) if (e !== undefined && e.target !== '') out.set(e.target, (out.get(e.target) ?? 0) + 1);
  return out;
}

/** Upstream's baseline initial mapping: shard i on the i-th node (mod n), owned. */
export function roundRobinValue(nodes: readonly string[]): (id: number) => ShardValue {
  return (id) => ({ target: nodes[id % nodes.length]!, current: nodes[id % nodes.length]!, flags: [] });
}
