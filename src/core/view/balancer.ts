import type { BalancerDecisionRecord } from '../keyspace/records.js';
import { balancerState, decisionReason } from '../planner/balancerState.js';
import { leaderStep } from '../planner/leaderStep.js';
import type { StrategyName } from '../planner/rebalance.js';
import type { PlannerSettings } from '../planner/settings.js';
import type { FirstSeen } from '../planner/stuck.js';
import { type ClusterSnapshot, leaderAddress } from '../snapshot/snapshot.js';

/** What the view needs to compute the balancer's decision when no leader publishes one. */
export interface BalancerInput {
  readonly strategy: StrategyName;
  readonly settings: PlannerSettings;
  /**
   * Epoch ms of the last change of the set of alive nodes, as a watcher saw it. Omitted by one-shot commands,
   * which cannot know it: the cluster is then taken as stable, so the answer is what the leader does next.
   */
  readonly stableSince?: number | null;
}

export interface BalancerView {
  /** `leader`: the leader's own published status; `computed`: a dry run of the leader step on this snapshot. */
  readonly source: 'leader' | 'computed';
  /** acting, balanced, paused, waiting or stalled (a leader of another version may publish other names). */
  readonly state: string;
  /** Why, in one line: what it does, or why it does nothing. */
  readonly reason: string;
  /** For `computed`: the step (`reassign`, `recover`, `rebalance`) or the skip reason; null for `leader`. */
  readonly code: string | null;
  readonly leader: string | null;
  readonly strategy: string;
  /** When the leader decided (source `leader`) or when it was computed (epoch ms). */
  readonly at: number;
  readonly pause: { readonly until: number; readonly by: string; readonly reason: string; readonly remainingMs: number } | null;
  /** The leader's recent decisions that wrote something, newest first (empty when computed). */
  readonly recent: readonly BalancerDecisionRecord[];
}

/**
 * How long a computed decision is reused: the console rebuilds up to 10 times a second, a dry run of the leader step
 * over 8192 shards costs milliseconds, and a balancer reason a second old is fresh enough for a display.
 */
const COMPUTED_REUSE_MS = 1000;

/**
 * The balancer's state: the leader's published status when it is fresh (published by the current leader, which is
 * alive; the key lives under that leader's lease), else a dry run of the leader step.
 */
export function balancerView(
  snapshot: ClusterSnapshot,
  input: BalancerInput,
  firstSeen: ReadonlyMap<number, FirstSeen>,
  now: number,
  previous?: BalancerView,
): BalancerView {
  const p = snapshot.pause;
  const pause = p !== null && p.until > now ? { until: p.until, by: p.by, reason: p.reason, remainingMs: p.until - now } : null;
  const leader = leaderAddress(snapshot.leader);
  const status = snapshot.balancer;
  if (status !== null && leader !== null && status.leader === leader && snapshot.nodes.has(leader)) {
    return {
      source: 'leader',
      state: status.state,
      reason: status.reason,
      code: null,
      leader,
      strategy: status.strategy,
      at: status.at,
      pause,
      recent: status.recent,
    };
  }
  if (previous?.source === 'computed' && previous.leader === leader && now >= previous.at && now - previous.at < COMPUTED_REUSE_MS) {
    return { ...previous, pause };
  }
  const decision = leaderStep({
    snapshot,
    settings: input.settings,
    strategy: input.strategy,
    now,
    stableSince: input.stableSince === undefined ? now - input.settings.stabilityMs : input.stableSince,
    rebalance: 'idle',
    firstSeen,
    self: 'goverse-top',
  });
  return {
    source: 'computed',
    state: balancerState(decision),
    reason: decision.text,
    code: decisionReason(decision),
    leader,
    strategy: input.strategy,
    at: now,
    pause,
    recent: [],
  };
}
