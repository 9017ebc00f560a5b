import type { LeaderDecision } from './leaderStep.js';

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
    case 'settling':
    case 'resharding':
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
