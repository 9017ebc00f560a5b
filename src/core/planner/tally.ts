import { isPinned } from '../keyspace/shardValue.js';
import { shardInLayout } from '../snapshot/layout.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { type PlannerContext, plannerContext } from './context.js';
import { type PlanSkip, skip } from './plan.js';

/** Shards per eligible node by TargetNode, the input of every rebalance strategy. */
export interface TargetTally {
  /** Shards targeted at each eligible node (pinned included), parallel to `ctx.eligible`. */
  readonly counts: Int32Array;
  /** Shard IDs targeted at each eligible node, ascending (pinned included). */
  readonly lists: number[][];
  /** 1 for pinned shards, by shard ID. */
  readonly pinned: Uint8Array;
  /** Shards whose key is absent or whose target is empty. */
  readonly unassigned: number;
  /** Shards targeted at eligible nodes. */
  readonly total: number;
}

export function tallyTargets(snapshot: ClusterSnapshot, ctx: PlannerContext): TargetTally {
  const n = ctx.eligible.length;
  const counts = new Int32Array(n);
  const lists: number[][] = Array.from({ length: n }, () => []);
  const pinned = new Uint8Array(snapshot.numShards);
  let unassigned = 0;
  let total = 0;
  for (let id = 0; id < snapshot.numShards; id++) {
    const entry = snapshot.shards[id];
    if (!shardInLayout(snapshot, id)) continue;
    if (entry === undefined || entry.target === '') {
      unassigned++;
      continue;
    }
    if (isPinned(entry)) pinned[id] = 1;
    const i = ctx.index.get(entry.target);
    if (i === undefined) continue;
    counts[i]!++;
    lists[i]!.push(id);
    total++;
  }
  return { counts, lists, pinned, unassigned, total };
}

/** The no-nodes skip, shared by every planner: its text is what the console and the logs show. */
export const noEligibleNodes = (): PlanSkip => skip('no-nodes', 'no eligible node (alive, not draining, not stopping)');

/**
 * What every rebalance strategy checks first: some node is eligible and every shard has a target. Returns the
 * context and the tally, or the reason to do nothing.
 */
export function rebalanceInputs(snapshot: ClusterSnapshot): { ctx: PlannerContext; tally: TargetTally } | PlanSkip {
  const ctx = plannerContext(snapshot);
  if (ctx.eligible.length === 0) return noEligibleNodes();
  const tally = tallyTargets(snapshot, ctx);
  if (tally.unassigned > 0) return skip('not-all-assigned', `${tally.unassigned} shards have no target yet`);
  return { ctx, tally };
}
