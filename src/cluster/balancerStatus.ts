import { encodeRecord, type BalancerDecisionRecord, type BalancerStatusRecord } from '../core/keyspace/records.js';
import { DEFAULT_VALUE_BOUND, utf8Length } from '../core/keyspace/valueBounds.js';
import { balancerState } from '../core/planner/balancerState.js';
import type { LeaderDecision } from '../core/planner/leaderStep.js';

// The state names are pure planner vocabulary (the console computes them too); re-exported for the member.
export { balancerState, decisionReason, type BalancerState } from '../core/planner/balancerState.js';

const RECENT_LIMIT = 20;
const MOVES_PER_DECISION = 50;
/**
 * The record is rewritten on every change of the leader's decision: kept small (the read bound of the key is larger),
 * older decisions are dropped to stay within it.
 */
export const STATUS_RECORD_BOUND = DEFAULT_VALUE_BOUND;

/**
 * The leader's rolling status record: the latest decision plus the last decisions that wrote something, newest
 * first. Decisions that wrote nothing are not appended (a steady "balanced", or a plan whose writes all lost their
 * compare, would push out every move), only shown as the current state.
 */
export class BalancerStatusLog {
  private recent: BalancerDecisionRecord[] = [];
  private last: BalancerStatusRecord | null = null;

  constructor(
    private readonly leader: string,
    private readonly strategy: string,
  ) {}

  /** `wrote`: whether the decision's writes changed anything in etcd (moves are those that did). */
  record(decision: LeaderDecision, now: number, moves: BalancerDecisionRecord['moves'], wrote: boolean): void {
    if (decision.step !== 'idle' && wrote) {
      const entry: BalancerDecisionRecord = {
        at: now,
        strategy: decision.step === 'rebalance' ? decision.strategy : this.strategy,
        outcome: decision.step,
        reason: decision.text,
        moves: moves.slice(0, MOVES_PER_DECISION),
      };
      this.recent = [entry, ...this.recent].slice(0, RECENT_LIMIT);
    }
    const status = (recent: BalancerDecisionRecord[]): BalancerStatusRecord => ({
      leader: this.leader,
      strategy: this.strategy,
      state: balancerState(decision),
      reason: decision.text,
      at: now,
      recent,
    });
    // Moves name shard owners, which anyone with etcd access may have made long: drop the oldest decisions to fit.
    while (this.recent.length > 0 && utf8Length(encodeRecord(status(this.recent))) > STATUS_RECORD_BOUND) {
      this.recent = this.recent.slice(0, -1);
    }
    this.last = status(this.recent);
  }

  /**
   * The record to publish, or null when its content equals `published` (the timestamp aside): rewriting an unchanged
   * status would be a write per pass, and every write is a watch event that triggers another pass on every node.
   */
  changedSince(published: BalancerStatusRecord | null): BalancerStatusRecord | null {
    const cur = this.last;
    if (cur === null) return null;
    if (published !== null && sameContent(published, cur)) return null;
    return cur;
  }
}

function sameContent(a: BalancerStatusRecord, b: BalancerStatusRecord): boolean {
  return encodeRecord({ ...a, at: 0 }) === encodeRecord({ ...b, at: 0 });
}
