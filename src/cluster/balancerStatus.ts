import type { BalancerDecisionRecord, BalancerStatusRecord } from '../core/keyspace/records.js';
import { balancerState } from '../core/planner/balancerState.js';
import type { LeaderDecision } from '../core/planner/leaderStep.js';

// The state names are pure planner vocabulary (the console computes them too); re-exported for the member.
export { balancerState, decisionReason, type BalancerState } from '../core/planner/balancerState.js';

const RECENT_LIMIT = 20;

/**
 * The leader's rolling status record: the latest decision plus the last decisions that wrote something, newest
 * first. Skips are not appended (a steady "balanced" would push out every move), only shown as the current state.
 */
export class BalancerStatusLog {
  private recent: BalancerDecisionRecord[] = [];
  private last: BalancerStatusRecord | null = null;

  constructor(
    private readonly leader: string,
    private readonly strategy: string,
  ) {}

  record(decision: LeaderDecision, now: number, moves: BalancerDecisionRecord['moves']): void {
    if (decision.step !== 'idle') {
      const entry: BalancerDecisionRecord = {
        at: now,
        strategy: decision.step === 'rebalance' ? decision.strategy : this.strategy,
        outcome: decision.step,
        reason: decision.text,
        moves: moves.slice(0, 50),
      };
      this.recent = [entry, ...this.recent].slice(0, RECENT_LIMIT);
    }
    this.last = {
      leader: this.leader,
      strategy: this.strategy,
      state: balancerState(decision),
      reason: decision.text,
      at: now,
      recent: this.recent,
    };
  }

  /** The record to publish, or null when nothing changed since `published` (ignoring the timestamp). */
  changedSince(published: BalancerStatusRecord | null): BalancerStatusRecord | null {
    const cur = this.last;
    if (cur === null) return null;
    if (
      published !== null &&
      published.state === cur.state &&
      published.reason === cur.reason &&
      published.recent.length === cur.recent.length &&
      published.recent[0]?.at === cur.recent[0]?.at
    ) {
      return null;
    }
    return cur;
  }
}
