import type { LoadRecord } from '../keyspace/records.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { plannerContext } from './context.js';
import type { RebalanceState, ShardWrite, SkipReason } from './plan.js';
import { planReassign } from './reassign.js';
import { rebalanceStrategy, type StrategyName } from './rebalance.js';
import { hasReshardWrites, type LeaderReshardPlan, planLeaderReshard } from './reshardLeader.js';
import { planRecovery, type RecoveryAction } from './recovery.js';
import type { PlannerSettings } from './settings.js';
import { findStuck, type FirstSeen, formatAge } from './stuck.js';
import { noEligibleNodes } from './tally.js';

export interface LeaderStepInput {
  readonly snapshot: ClusterSnapshot;
  readonly settings: PlannerSettings;
  readonly strategy: StrategyName;
  /** Epoch ms. */
  readonly now: number;
  /** Epoch ms of the last change of the set of alive nodes; null before the leader has observed it. */
  readonly stableSince: number | null;
  /** `active` when this leader's previous decision was a rebalance (see rebalanceStateAfter). */
  readonly rebalance: RebalanceState;
  /** First sightings of migrations without a record (see trackFirstSeen). */
  readonly firstSeen: ReadonlyMap<number, FirstSeen>;
  /** The leader's address, recorded in release requests. */
  readonly self: string;
  /** Load reports; the snapshot's by default. */
  readonly loads?: ReadonlyMap<string, LoadRecord>;
  /** Epoch ms of this leader's last rebalance writes; null when it has made none. */
  readonly lastMovesAt?: number | null;
}

/** What the leader writes in one pass, and why; or why it writes nothing. At most one kind of change per pass. */
export type LeaderDecision =
  | { readonly step: 'idle'; readonly reason: SkipReason; readonly text: string; readonly until: number | null }
  | { readonly step: 'reassign'; readonly writes: readonly ShardWrite[]; readonly text: string }
  /** Recovery of stuck shards; only actions that write (retarget, clear-owner, request-release, cancel). */
  | { readonly step: 'recover'; readonly actions: readonly RecoveryAction[]; readonly text: string }
  /** A shard-count transition: co-location, the pairs nobody owns, completion (docs/RESHARDING.md §5). */
  | { readonly step: 'reshard'; readonly plan: LeaderReshardPlan; readonly text: string }
  | { readonly step: 'rebalance'; readonly strategy: StrategyName; readonly writes: readonly ShardWrite[]; readonly text: string };

/**
 * The leader's decision, checks in order: eligible nodes, quorum, stability, reassign, stuck recovery, a shard-count
 * transition (which holds back rebalancing until it ends), pause, rebalance. A pause holds back rebalancing only: shards of dead, draining or stopping nodes still get targets and
 * stuck shards are still recovered, or a pause would leave shards unroutable for its whole length.
 */
export function leaderStep(input: LeaderStepInput): LeaderDecision {
  const { snapshot, settings, now } = input;
  const ctx = plannerContext(snapshot);
  if (ctx.eligible.length === 0) return idle('no-nodes', noEligibleNodes().text);
  const quorum = Math.max(1, settings.minQuorum);
  if (ctx.alive.size < quorum) return idle('below-quorum', `${ctx.alive.size} alive nodes, quorum is ${quorum}`);
  if (input.stableSince === null) return idle('not-stable', 'the set of alive nodes has not been observed yet');
  const stableAt = input.stableSince + settings.stabilityMs;
  if (now < stableAt) {
    return idle('not-stable', `the set of alive nodes changed ${formatAge(now - input.stableSince)} ago; stable in ${formatAge(stableAt - now)}`, stableAt);
  }

  const reassign = planReassign(snapshot, settings, ctx);
  if (reassign.kind === 'write') return { step: 'reassign', writes: reassign.writes, text: reassign.text };

  const stuck = findStuck(snapshot, input.firstSeen, now, settings.stuckTimeoutMs);
  const actions = planRecovery(snapshot, stuck, settings, now, input.self, ctx).filter((a) => a.kind !== 'wait' && a.kind !== 'report');
  if (actions.length > 0) {
    const kinds = new Map<string, number>();
    for (const a of actions) kinds.set(a.kind, (kinds.get(a.kind) ?? 0) + 1);
    const summary = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
    return { step: 'recover', actions, text: `recover ${actions.length} stuck shards (${summary})` };
  }

  const reshard = planLeaderReshard(snapshot, ctx);
  if (reshard !== null) return hasReshardWrites(reshard) ? { step: 'reshard', plan: reshard, text: reshard.text } : idle('resharding', reshard.text);

  const pause = snapshot.pause;
  if (pause !== null && pause.until > now) {
    const why = pause.reason === '' ? '' : ` (${pause.reason})`;
    return idle(
      'paused',
      `rebalancing paused by ${pause.by}${why} until ${new Date(pause.until).toISOString()}, ${formatAge(pause.until - now)} left`,
      pause.until,
    );
  }

  // Load reports lag the moves (a report every few seconds, smoothed): planning on reports that predate the last
  // round would move shards again for load already moved, round after round.
  const lastMovesAt = input.lastMovesAt ?? null;
  if (input.strategy === 'load' && lastMovesAt !== null && now < lastMovesAt + settings.load.settleMs) {
    const settleAt = lastMovesAt + settings.load.settleMs;
    return idle('settling', `load: letting load reports catch up with the last moves; planning again in ${formatAge(settleAt - now)}`, settleAt);
  }

  const plan = rebalanceStrategy(input.strategy).plan(snapshot, settings, input.loads ?? snapshot.load, input.rebalance);
  if (plan.kind === 'write') return { step: 'rebalance', strategy: input.strategy, writes: plan.writes, text: plan.text };
  return idle(plan.reason, plan.text, plan.until);
}

/**
 * The rebalance state for the leader's next pass: `active` right after a rebalance, so a started round finishes;
 * a pass that only waits for the last moves to settle keeps the state it had.
 */
export function rebalanceStateAfter(decision: LeaderDecision, previous: RebalanceState): RebalanceState {
  if (decision.step === 'idle' && decision.reason === 'settling') return previous;
  return decision.step === 'rebalance' ? 'active' : 'idle';
}

function idle(reason: SkipReason, text: string, until: number | null = null): LeaderDecision {
  return { step: 'idle', reason, text, until };
}
