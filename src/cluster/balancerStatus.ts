import type { BalancerDecisionRecord, BalancerStatusRecord } from '../core/keyspace/records.js';
import type { LeaderDecision } from '../core/planner/leaderStep.js';

/** The balancer's state as operators name it (pd-ctl / Redpanda style), derived from the leader's decision. */
export type BalancerState = 'acting' | 'balanced' | 'paused' | 'waiting' | 'stalled';

export function balancerState(decision: LeaderDecision): BalancerState {
  if (decision.step !== 'idle') return 'acting';
  switch (decision.reason) {
    case 'paused':
      return 'paused';
    case 'no-nodes':
    case 'below-quorum':
    case 'not-stable':
    case 'not-all-assigned':
      return 'waiting';
    case 'only-pinned-movable':
    case 'no-improving-move':
      return 'stalled';
    case 'all-assigned':
    case 'balanced':
    case 'within-threshold':
    case 'within-hysteresis':
      return 'balanced';
  }
}

/** The label for metrics and records: the step, or the skip reason. */
export function decisionReason(decision: LeaderDecision): string {
  return decision.step === 'idle' ? decision.reason : decision.step;
}

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
