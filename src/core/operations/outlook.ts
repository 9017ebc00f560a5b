import { formatShardValue, type ShardValue } from '../keyspace/shardValue.js';
import type { ShardWrite } from '../planner/plan.js';
import { isStrategyName, rebalanceStrategy, type StrategyName } from '../planner/rebalance.js';
import type { PlannerSettings } from '../planner/settings.js';
import { isUpstreamNode } from '../planner/upstream.js';
import { type ClusterSnapshot, leaderAddress, type ShardEntry } from '../snapshot/snapshot.js';
import type { OperationPlan } from './operations.js';

/**
 * What the leader's balancer would do once a plan's new targets are written: its rebalance strategy run on the
 * snapshot as it would be then, round after round until it stops. A reassign of 5 shards on a cluster at the edge of
 * its imbalance threshold was undone within a second, `count` taking the very shards in flight as the cheapest moves
 * back; the front ends show this outlook with the plan and offer to pin the shards or to pause rebalancing.
 */
export interface BalancerOutlook {
  /** The strategy simulated: the leader's published one, `count` under an upstream leader, else the configured one. */
  readonly strategy: StrategyName;
  /** The plan's shards the balancer would move off the target the plan gives them, ascending; empty: it keeps them. */
  readonly movedBack: readonly number[];
  /** Every shard it would move before it stops. */
  readonly moves: number;
  /** Rebalancing is paused until then (epoch ms): the moves wait for the end of the pause. Null: at once. */
  readonly pausedUntil: number | null;
}

export interface OutlookContext {
  readonly snapshot: ClusterSnapshot;
  /** The strategy this process is configured with, for a leader that publishes none. */
  readonly strategy: StrategyName;
  readonly settings: PlannerSettings;
  /** Epoch ms. */
  readonly now: number;
}

/** Enough for any strategy to finish what one change starts (count: 28 rounds for a whole node joining 8,192 shards). */
const MAX_ROUNDS = 64;

/** The balancer's outlook after `plan`; null for a plan that changes no target. */
export function balancerOutlook(plan: OperationPlan, ctx: OutlookContext): BalancerOutlook | null {
  const planned = new Map<number, string>();
  for (const c of plan.shardChanges) if (c.after.target !== c.before.target) planned.set(c.shardId, c.after.target);
  if (planned.size === 0) return null;
  const strategy = leaderStrategy(ctx.snapshot, ctx.strategy);
  let snapshot = withValues(ctx.snapshot, plan.shardChanges.map((c) => ({ id: c.shardId, value: settled(c.after) })));
  let moves = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const r = rebalanceStrategy(strategy).plan(snapshot, ctx.settings, ctx.snapshot.load, round === 0 ? 'idle' : 'active');
    if (r.kind === 'skip') break;
    moves += r.writes.length;
    snapshot = withValues(snapshot, r.writes.map((w: ShardWrite) => ({ id: w.shardId, value: settled(w.after) })));
  }
  const movedBack = [...planned].filter(([id, target]) => snapshot.shards[id]?.target !== target).map(([id]) => id);
  const pause = ctx.snapshot.pause;
  return {
    strategy,
    movedBack: movedBack.sort((a, b) => a - b),
    moves,
    pausedUntil: pause !== null && pause.until > ctx.now ? pause.until : null,
  };
}

/** The strategy the leader runs: the one it publishes (when it is one we know), `count` for an upstream leader. */
export function leaderStrategy(snapshot: ClusterSnapshot, configured: StrategyName): StrategyName {
  const leader = leaderAddress(snapshot.leader);
  if (leader !== null && isUpstreamNode(snapshot, leader)) return 'count';
  const published = snapshot.balancer;
  if (published !== null && published.leader === leader && isStrategyName(published.strategy)) return published.strategy;
  return configured;
}

/** The shard claimed by its target, as once its migration completes. */
function settled(value: ShardValue): ShardValue {
  return { ...value, current: value.target };
}

/** The snapshot with some shard values replaced (no etcd revision changes: nothing is written). */
function withValues(snapshot: ClusterSnapshot, values: readonly { readonly id: number; readonly value: ShardValue }[]): ClusterSnapshot {
  const shards = [...snapshot.shards];
  for (const { id, value } of values) {
    const old = shards[id];
    const entry: ShardEntry = { id, modRevision: old?.modRevision ?? 0, warnings: [], ...value, raw: formatShardValue(value) };
    shards[id] = entry;
  }
  return { ...snapshot, shards };
}
