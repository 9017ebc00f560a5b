/**
 * The shard layout of a snapshot (docs/RESHARDING.md §4): which shards exist, and which one serves an object. During a
 * transition between N and 2N the snapshot's range holds 2N shard IDs, but a high shard s + N exists only while its
 * key does; planners that would create absent keys (assignment) must skip the high shards not split yet.
 */
import { ConfigError } from '../errors.js';
import { Keyspace } from '../keyspace/keys.js';
import type { ObjectPlacement } from '../sharding/objectId.js';
import { pairLowCount, placeInLayout, servingShard } from '../sharding/layout.js';
import type { ClusterSnapshot } from './snapshot.js';

/** Whether shard `id` is part of the layout now: below the count in force, or a high shard whose key exists. */
export function shardInLayout(snapshot: ClusterSnapshot, id: number): boolean {
  const n = pairLowCount(snapshot.layout);
  if (n === null || id < n) return id >= 0 && id < snapshot.numShards;
  return id < snapshot.numShards && snapshot.shards[id] !== undefined;
}

/** How many shards the layout has now (the count in force, plus or minus the pairs done during a transition). */
export function layoutShardCount(snapshot: ClusterSnapshot): number {
  const n = pairLowCount(snapshot.layout);
  if (n === null) return snapshot.numShards;
  let count = n;
  for (let id = n; id < snapshot.numShards; id++) if (snapshot.shards[id] !== undefined) count++;
  return count;
}

/** Where an object lives according to the snapshot: its serving shard, or for fixed-node IDs the node. */
export function placeInSnapshot(snapshot: ClusterSnapshot, id: string): ObjectPlacement {
  return placeInLayout(id, snapshot.layout, (s) => snapshot.shards[s] !== undefined);
}

/** The shard serving shard number `high` of the snapshot's range (itself, or its low shard before its pair split). */
export function servingShardIn(snapshot: ClusterSnapshot, high: number): number {
  return servingShard(snapshot.layout, high, (s) => snapshot.shards[s] !== undefined);
}

/**
 * A process's configured shard count: `explicit` names where an explicitly configured count came from (`flag
 * --num-shards`, `env GOVERSE_NUM_SHARDS`, `<file>:cluster.shards`), null when it is the default, which follows the
 * cluster's record (docs/RESHARDING.md §3).
 */
export interface ConfiguredShardCount {
  readonly count: number;
  readonly explicit: string | null;
}

/**
 * Why a process must not serve or route with the snapshot's layout (exit 2), or null: the record is malformed (nobody can
 * know how to route), or an explicitly configured count is neither the count in force nor, during a transition, its
 * other count. A default count follows the record.
 */
export function configuredCountProblem(snapshot: ClusterSnapshot, configured: ConfiguredShardCount): ConfigError | null {
  const key = new Keyspace(snapshot.prefix).shardCount;
  const bad = snapshot.malformed.get(key);
  if (bad !== undefined) return new ConfigError(key, `malformed (${bad.reason}): the shard count is unknown; repair the record`);
  if (configured.explicit === null || snapshot.layout.source !== 'record') return null;
  const { count, transition } = snapshot.layout;
  if (configured.count === count || configured.count === transition?.to) return null;
  const recorded = transition === null ? `${count}` : `${count} (changing to ${transition.to})`;
  return new ConfigError(
    configured.explicit,
    `${configured.count} shards configured, but the cluster's record ${key} says ${recorded}: ` +
      `remove the explicit count (the record decides) or set it to ${count}`,
  );
}
