import type { ShardValue } from '../keyspace/shardValue.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';

/** One compare-and-swap write of `<prefix>/shard/<id>` a planner asks for. */
export interface ShardWrite {
  readonly shardId: number;
  /** The key's ModRevision in the snapshot the plan was made from; 0 means the key must still be absent. */
  readonly expectedModRevision: number;
  readonly before: ShardValue;
  /** The new value; flags are always those of `before`. */
  readonly after: ShardValue;
}

/**
 * Why a planner (or the leader step) does nothing. A closed set so that the balancer status, metrics labels and
 * the console can switch on it.
 */
export type SkipReason =
  /** No alive node that is neither draining nor stopping. */
  | 'no-nodes'
  | 'below-quorum'
  /** The set of alive nodes changed too recently. */
  | 'not-stable'
  /** Rebalancing is paused until a time (`<prefix>/rebalance/pause`). */
  | 'paused'
  /** Some shard has no target yet; reassign comes first. */
  | 'not-all-assigned'
  /** Every shard already targets an eligible node (reassign). */
  | 'all-assigned'
  /** No single move would make the distribution better. */
  | 'balanced'
  /** count/weighted: the spread is within the imbalance threshold. */
  | 'within-threshold'
  /** load: every node is within the hysteresis band of its ideal. */
  | 'within-hysteresis'
  /** load: the last round's moves are still completing or the nodes' load reports do not reflect them yet. */
  | 'settling'
  /** The nodes that should give shards away hold only pinned shards. */
  | 'only-pinned-movable'
  /** load: nodes are out of band but no movable shard would reduce the imbalance (e.g. one hot shard). */
  | 'no-improving-move'
  /** A shard-count transition runs: no rebalancing until it ends (docs/RESHARDING.md §5.4). */
  | 'resharding';

export interface PlannedWrites {
  readonly kind: 'write';
  readonly writes: readonly ShardWrite[];
  /** What the writes do and why, for logs, the balancer status and dry runs. */
  readonly text: string;
}

export interface PlanSkip {
  readonly kind: 'skip';
  readonly reason: SkipReason;
  readonly text: string;
  /** When the reason lapses by itself (end of a pause, of the stability window); null when it does not. */
  readonly until: number | null;
}

export type PlanResult = PlannedWrites | PlanSkip;

/** How a rebalance round continues: `active` after a round that moved shards, so the strategy keeps going to its
 * tight target instead of stopping as soon as the trigger no longer fires (hysteresis). */
export type RebalanceState = 'idle' | 'active';

const EMPTY_VALUE: ShardValue = { target: '', current: '', flags: [] };

export function shardValueAt(snapshot: ClusterSnapshot, shardId: number): ShardValue {
  return snapshot.shards[shardId] ?? EMPTY_VALUE;
}

/** A write changing the target and/or current of one shard, keeping its flags and comparing its ModRevision. */
export function shardWrite(
  snapshot: ClusterSnapshot,
  shardId: number,
  change: { readonly target?: string; readonly current?: string },
): ShardWrite {
  const entry = snapshot.shards[shardId];
  const before: ShardValue = entry === undefined ? EMPTY_VALUE : { target: entry.target, current: entry.current, flags: entry.flags };
  return {
    shardId,
    expectedModRevision: entry?.modRevision ?? 0,
    before,
    after: { target: change.target ?? before.target, current: change.current ?? before.current, flags: before.flags },
  };
}

export function skip(reason: SkipReason, text: string, until: number | null = null): PlanSkip {
  return { kind: 'skip', reason, text, until };
}

/** "n1→n4 ×22, n2→n4 ×21": the moves of a plan grouped by source and destination, largest groups first. */
export function describeMoves(writes: readonly ShardWrite[], limit = 4): string {
  const groups = new Map<string, number>();
  for (const w of writes) {
    const key = `${w.before.target || '(none)'}→${w.after.target}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const sorted = [...groups].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, limit).map(([k, n]) => `${k} ×${n}`);
  if (sorted.length > limit) shown.push(`+${sorted.length - limit} more pairs`);
  return shown.join(', ');
}

/** Two decimals, for figures in human text. */
export function round(x: number): number {
  return Math.round(x * 100) / 100;
}
