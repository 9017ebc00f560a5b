/**
 * What the owner of a pair does during a transition (docs/RESHARDING.md §5.2, §5.3): split the pairs whose low shard
 * it owns and serves (settled: target and owner itself), merge the pairs whose two shards it owns and serves. Under
 * the shard write locks, after evicting the objects that change shard, the executor commits these transactions.
 */
import { mergeTxn, type PairTxn, pendingPairs, splitTxn } from './reshard.js';
import type { ClusterSnapshot, ShardEntry } from '../snapshot/snapshot.js';

/**
 * The pair transactions `self` should run now. `serving(id)` says whether this node holds an epoch for the shard
 * (a claim of its current registration): a node that merely appears as the owner in etcd must claim first.
 */
export function planOwnerReshard(snapshot: ClusterSnapshot, self: string, serving: (id: number) => boolean): PairTxn[] {
  const pending = pendingPairs(snapshot);
  if (pending === null) return [];
  const mine = (e: ShardEntry | undefined): e is ShardEntry => e !== undefined && e.target === self && e.current === self && serving(e.id);
  const out: PairTxn[] = [];
  for (const low of pending.pairs) {
    const lowEntry = snapshot.shards[low];
    const high = low + pending.n;
    if (!mine(lowEntry)) continue;
    if (pending.goal === 'split') {
      out.push(splitTxn(lowEntry, high, { target: self, current: self }));
    } else {
      const highEntry = snapshot.shards[high];
      if (mine(highEntry)) out.push(mergeTxn(lowEntry, highEntry));
    }
  }
  return out;
}
