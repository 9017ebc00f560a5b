/**
 * The leader's history entries, pure: a decision that wrote, a new reason to do nothing, migrations found stuck and
 * migrations no longer stuck. The actor is the leader's node address.
 */
import { decisionReason } from '../planner/balancerState.js';
import type { LeaderDecision } from '../planner/leaderStep.js';
import type { ShardWrite } from '../planner/plan.js';
import type { StuckShard } from '../planner/stuck.js';
import type { HistoryAction, HistoryDraft } from './entry.js';

const STEP_ACTIONS: Readonly<Record<Exclude<LeaderDecision['step'], 'idle'>, HistoryAction>> = {
  reassign: 'assign',
  rebalance: 'rebalance',
  recover: 'recover',
  reshard: 'reshard',
};

/**
 * The entry of a decision's writes: target changes as moves, the other shards (an owner cleared, a release asked
 * for) as a list; `partial` when some planned writes were not made. Null for an idle decision or when nothing was
 * written.
 */
export function decisionEntry(
  decision: LeaderDecision,
  written: { readonly writes: readonly ShardWrite[]; readonly others: readonly number[]; readonly planned: number },
  leader: string,
  at: number,
): HistoryDraft | null {
  if (decision.step === 'idle') return null;
  const count = written.writes.length + written.others.length;
  if (count === 0) return null;
  const moves = written.writes.filter((w) => w.before.target !== w.after.target).map((w) => ({ shard: w.shardId, from: w.before.target, to: w.after.target }));
  const shards = [...written.writes.filter((w) => w.before.target === w.after.target).map((w) => w.shardId), ...written.others];
  const partial = count < written.planned;
  return {
    at,
    actor: leader,
    source: 'leader',
    action: STEP_ACTIONS[decision.step],
    ...(moves.length === 0 ? {} : { moves }),
    ...(shards.length === 0 ? {} : { shards }),
    reason: `${decision.text}${partial ? ` (${count} of ${written.planned} written)` : ''}`,
    outcome: partial ? 'partial' : 'written',
  };
}

/**
 * Tracks the leader's reason to do nothing, and gives an entry when it changes (not on every pass): a decision that
 * acts in between does not count as a change, so `within-threshold`, a rebalance round, `within-threshold` again is
 * recorded once.
 */
export class SkipReasons {
  private last: string | null = null;

  /** The entry for `decision` when it is idle for a reason other than the last one recorded, else null. */
  next(decision: LeaderDecision, leader: string, at: number): HistoryDraft | null {
    if (decision.step !== 'idle') return null;
    const reason = decisionReason(decision);
    if (reason === this.last) return null;
    this.last = reason;
    return { at, actor: leader, source: 'leader', action: 'skip', reason: `${reason}: ${decision.text}`, outcome: 'skipped' };
  }

  /** A new term records its first reason again. */
  reset(): void {
    this.last = null;
  }
}

/** Entries for stuck episodes that began (one per state, the pending moves current → target) and shards that left. */
export function stuckEntries(began: readonly StuckShard[], ended: readonly number[], leader: string, at: number): HistoryDraft[] {
  const byState = new Map<string, StuckShard[]>();
  for (const s of began) {
    let list = byState.get(s.state);
    if (list === undefined) byState.set(s.state, (list = []));
    list.push(s);
  }
  const out: HistoryDraft[] = [...byState].map(([state, list]) => ({
    at,
    actor: leader,
    source: 'leader',
    action: 'stuck',
    moves: list.map((s) => ({ shard: s.shardId, from: s.current, to: s.target })),
    reason: `${list.length} ${state}: ${list[0]!.reason}`,
    outcome: 'detected',
  }));
  if (ended.length > 0) {
    out.push({ at, actor: leader, source: 'leader', action: 'unstuck', shards: ended, reason: `${ended.length} no longer stuck`, outcome: 'resolved' });
  }
  return out;
}

/** A phase of a shard-count transition (docs/RESHARDING.md §5.5), with the phase as the outcome. */
export function reshardPhaseEntry(phase: string, reason: string, leader: string, at: number): HistoryDraft {
  return { at, actor: leader, source: 'leader', action: 'reshard', reason, outcome: phase };
}
