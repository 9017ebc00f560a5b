/**
 * The per-pair phase logic of a shard-count transition (docs/RESHARDING.md §5), pure: which pairs are done, and the
 * guarded transaction that splits or merges one pair. Who runs it is decided by reshardOwner.ts (the owner of a pair)
 * and reshardLeader.ts (the leader: pairs nobody owns, co-location, completion).
 */
import { pairGoal, type ReshardKind, type ReshardState } from '../keyspace/shardCount.js';
import { formatShardValue, isPinned, type ShardValue, withPinned } from '../keyspace/shardValue.js';
import { pairLowCount } from '../sharding/layout.js';
import type { ClusterSnapshot, ShardEntry } from '../snapshot/snapshot.js';

/** Where a transition stands. */
export interface ReshardProgress {
  readonly id: string;
  readonly kind: ReshardKind;
  readonly state: ReshardState;
  readonly from: number;
  readonly to: number;
  /** What the remaining pairs need: the kind, reversed while aborting. */
  readonly goal: ReshardKind;
  /** Pairs (s, s + N): N, the smaller count. */
  readonly pairs: number;
  /** Pairs where the goal holds (split: the high key exists; merge: it does not). */
  readonly done: number;
  readonly startedAt: number;
  readonly by: string;
}

export function reshardProgress(snapshot: ClusterSnapshot): ReshardProgress | null {
  const t = snapshot.layout.transition;
  const n = pairLowCount(snapshot.layout);
  if (t === null || n === null) return null;
  const goal = pairGoal(t);
  let done = 0;
  for (let low = 0; low < n; low++) if (pairDone(snapshot, low, n, goal)) done++;
  return { id: t.id, kind: t.kind, state: t.state, from: t.from, to: t.to, goal, pairs: n, done, startedAt: t.startedAt, by: t.by };
}

/** Whether pair (low, low + n) is where `goal` wants it. */
export function pairDone(snapshot: ClusterSnapshot, low: number, n: number, goal: ReshardKind): boolean {
  const exists = snapshot.shards[low + n] !== undefined;
  return goal === 'split' ? exists : !exists;
}

/** One pair's step, as keys of shard IDs: the executor turns it into one etcd transaction (with others). */
export interface PairTxn {
  readonly op: ReshardKind;
  readonly low: number;
  readonly high: number;
  /** `ModRevision(shard/<id>) == modRevision` (0: absent). */
  readonly compares: readonly { readonly shardId: number; readonly modRevision: number }[];
  /** Shard values to put: the low shard re-put unchanged (a new ModRevision), and a split's new high shard. */
  readonly puts: readonly { readonly shardId: number; readonly value: string }[];
  /** A merge's high shard: its shard, migration and release-request keys are deleted. */
  readonly deletes: number | null;
}

/**
 * Splits pair (low, high): creates the high shard with `high` as its value (the low shard's flags), and re-puts the
 * low shard. The re-put matters: a node whose claim of the low shard was planned on a view without the high key
 * compares the low shard's old ModRevision and loses, so nobody serves the low shard with the old rule.
 */
export function splitTxn(low: ShardEntry, high: number, value: { readonly target: string; readonly current: string }): PairTxn {
  const created: ShardValue = { target: value.target, current: value.current, flags: low.flags };
  return {
    op: 'split',
    low: low.id,
    high,
    compares: [
      { shardId: low.id, modRevision: low.modRevision },
      { shardId: high, modRevision: 0 },
    ],
    puts: [
      { shardId: low.id, value: formatShardValue(low) },
      { shardId: high, value: formatShardValue(created) },
    ],
    deletes: null,
  };
}

/**
 * Merges pair (low, high): deletes the high shard (and its migration and release-request keys) and re-puts the low
 * shard, whose new ModRevision is its owner's new epoch: the high half's objects were last written under epochs of
 * the high shard, which may be newer than the owner's epoch of the low shard. The value is unchanged except that a
 * pin of the high shard carries over (both are on the pin's node by then): its objects stay where they were pinned,
 * as a split's high shard inherits the low shard's flags.
 */
export function mergeTxn(low: ShardEntry, high: ShardEntry): PairTxn {
  return {
    op: 'merge',
    low: low.id,
    high: high.id,
    compares: [
      { shardId: low.id, modRevision: low.modRevision },
      { shardId: high.id, modRevision: high.modRevision },
    ],
    puts: [{ shardId: low.id, value: formatShardValue(isPinned(high) && !isPinned(low) ? withPinned(low, true) : low) }],
    deletes: high.id,
  };
}

/** The pairs of a transition whose goal does not hold yet, as [low, high] entries (either may be absent). */
export function pendingPairs(snapshot: ClusterSnapshot): { readonly goal: ReshardKind; readonly n: number; readonly pairs: readonly number[] } | null {
  const t = snapshot.layout.transition;
  const n = pairLowCount(snapshot.layout);
  if (t === null || n === null) return null;
  const goal = pairGoal(t);
  const pairs: number[] = [];
  for (let low = 0; low < n; low++) if (!pairDone(snapshot, low, n, goal)) pairs.push(low);
  return { goal, n, pairs };
}
