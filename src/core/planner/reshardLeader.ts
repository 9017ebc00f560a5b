/**
 * The leader's part of a shard-count transition (docs/RESHARDING.md §5): split or merge the pairs nobody owns (no
 * object of them is active anywhere), co-locate the two shards of every pair a merge needs on one node (ordinary
 * migrations, all at once rather than through the balancer's batches), and end the transition with a CAS of the
 * record once every pair is done. Everything else is the owners' (reshardOwner.ts).
 */
import { isPinned } from '../keyspace/shardValue.js';
import { countAfter, type ShardCountRecord } from '../keyspace/shardCount.js';
import type { ClusterSnapshot, ShardEntry } from '../snapshot/snapshot.js';
import type { PlannerContext } from './context.js';
import { type ShardWrite, shardWrite } from './plan.js';
import { mergeTxn, type PairTxn, pendingPairs, type ReshardProgress, reshardProgress, splitTxn } from './reshard.js';

export interface LeaderReshardPlan {
  readonly progress: ReshardProgress;
  /** A merge's co-location: retargets of one shard of a pair to the other's target. */
  readonly colocate: readonly ShardWrite[];
  /** Pairs nobody owns, split or merged by the leader. */
  readonly pairs: readonly PairTxn[];
  /** The record that ends the transition, when every pair is done; compared against `expectedModRevision`. */
  readonly complete: { readonly record: ShardCountRecord; readonly expectedModRevision: number } | null;
  /** Pairs left to their owner, by owner (`''`: a shard without a target yet, which assignment gives one first). */
  readonly waiting: ReadonlyMap<string, number>;
  /** Pairs nothing moves until an operator acts, with why. */
  readonly blocked: readonly { readonly low: number; readonly reason: string }[];
  readonly text: string;
}

export function hasReshardWrites(plan: LeaderReshardPlan): boolean {
  return plan.colocate.length > 0 || plan.pairs.length > 0 || plan.complete !== null;
}

/** The leader's reshard plan, or null outside a transition. */
export function planLeaderReshard(snapshot: ClusterSnapshot, ctx: PlannerContext): LeaderReshardPlan | null {
  const progress = reshardProgress(snapshot);
  const pending = pendingPairs(snapshot);
  if (progress === null || pending === null) return null;
  const colocate: ShardWrite[] = [];
  const pairs: PairTxn[] = [];
  const waiting = new Map<string, number>();
  const blocked: { low: number; reason: string }[] = [];
  const wait = (owner: string): void => void waiting.set(owner, (waiting.get(owner) ?? 0) + 1);
  const owned = (e: ShardEntry): boolean => e.current !== '' && ctx.alive.has(e.current);
  for (const low of pending.pairs) {
    const lowEntry = snapshot.shards[low];
    const highEntry = snapshot.shards[low + pending.n];
    if (lowEntry === undefined || lowEntry.target === '') {
      wait('');
    } else if (pending.goal === 'split') {
      if (owned(lowEntry)) wait(lowEntry.current);
      else pairs.push(splitTxn(lowEntry, low + pending.n, { target: lowEntry.target, current: '' }));
    } else if (highEntry !== undefined) {
      const step = mergeStep(snapshot, ctx, lowEntry, highEntry, owned);
      if (step.kind === 'colocate') colocate.push(step.write);
      else if (step.kind === 'merge') pairs.push(mergeTxn(lowEntry, highEntry));
      else if (step.kind === 'blocked') blocked.push({ low, reason: step.reason });
      else wait(step.owner);
    }
  }
  const t = snapshot.layout.transition!;
  const complete =
    pending.pairs.length === 0
      ? {
          record: { count: countAfter(t), transition: null, reshards: snapshot.layout.reshards + (t.state === 'running' ? 1 : 0) },
          expectedModRevision: snapshot.layout.modRevision,
        }
      : null;
  return { progress, colocate, pairs, complete, waiting, blocked, text: describe(progress, colocate.length, pairs.length, waiting, blocked, complete !== null) };
}

type MergeStep =
  | { readonly kind: 'colocate'; readonly write: ShardWrite }
  | { readonly kind: 'merge' }
  | { readonly kind: 'wait'; readonly owner: string }
  | { readonly kind: 'blocked'; readonly reason: string };

/**
 * A pair to merge: first one target for both (the high shard moves to the low shard's target, unless only the high
 * shard is pinned: then the low shard moves), then the owner merges it, or the leader when neither shard is owned.
 */
function mergeStep(snapshot: ClusterSnapshot, ctx: PlannerContext, low: ShardEntry, high: ShardEntry, owned: (e: ShardEntry) => boolean): MergeStep {
  if (high.target === '') return { kind: 'wait', owner: '' };
  if (low.target !== high.target) {
    const [lowPinned, highPinned] = [isPinned(low), isPinned(high)];
    if (lowPinned && highPinned) {
      return { kind: 'blocked', reason: `shards ${low.id} and ${high.id} are pinned to ${low.target} and ${high.target}: unpin one` };
    }
    const [moving, to] = highPinned ? [low, high.target] : [high, low.target];
    // A target that takes no shards is replaced by assignment first (a pinned one only by an operator).
    if (!ctx.index.has(to)) return isPinned(moving === low ? high : low) ? { kind: 'blocked', reason: `shard pinned to ${to}, which is not eligible` } : { kind: 'wait', owner: '' };
    return { kind: 'colocate', write: shardWrite(snapshot, moving.id, { target: to }) };
  }
  if (!owned(low) && !owned(high)) return { kind: 'merge' };
  return { kind: 'wait', owner: low.target };
}

function describe(
  p: ReshardProgress,
  colocate: number,
  leaderPairs: number,
  waiting: ReadonlyMap<string, number>,
  blocked: LeaderReshardPlan['blocked'],
  complete: boolean,
): string {
  const head = `${p.state === 'aborting' ? 'aborting ' : ''}${p.kind} ${p.from} -> ${p.to}: ${p.done}/${p.pairs} pairs ${p.goal === 'split' ? 'split' : 'merged'}`;
  if (complete) return `${head}; completing: ${p.state === 'running' ? p.to : p.from} shards in force`;
  const parts: string[] = [];
  if (leaderPairs > 0) parts.push(`${p.goal === 'split' ? 'splitting' : 'merging'} ${leaderPairs} unowned pairs`);
  if (colocate > 0) parts.push(`co-locating ${colocate} pairs`);
  const owners = [...waiting].filter(([o]) => o !== '').sort((a, b) => b[1] - a[1]);
  if (owners.length > 0) parts.push(`waiting for ${owners.slice(0, 4).map(([o, n]) => `${o} (${n})`).join(', ')}${owners.length > 4 ? ` +${owners.length - 4} more` : ''}`);
  const unassigned = waiting.get('') ?? 0;
  if (unassigned > 0) parts.push(`${unassigned} pairs wait for a target`);
  if (blocked.length > 0) parts.push(`${blocked.length} pairs blocked by pins (${blocked[0]!.reason}${blocked.length > 1 ? '; ...' : ''})`);
  return parts.length === 0 ? head : `${head}; ${parts.join('; ')}`;
}
