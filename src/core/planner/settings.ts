import type { GoverseConfig } from '../config/settings.js';
import { DEFAULT_HISTORY_BOUNDS, historyBoundsFromConfig, type HistoryBounds } from '../history/bounds.js';
import { type ShardWriteRetry, shardWriteRetryFromConfig } from '../config/shardWriteRetry.js';
import type { StrategyName } from './rebalance.js';

/** How shards that need a target (initial mapping, orphans) are placed. */
export type AssignmentMode =
  /** Weighted rendezvous hashing bounded by each node's ideal share: a join or leave moves only what must move. */
  | 'rendezvous'
  /** Upstream baseline: `sortedNodes[shardId % n]`. */
  | 'round-robin';

/** Which per-shard signal the `load` strategy balances. */
export type LoadMetric = 'objects' | 'calls';

export interface LoadSettings {
  readonly metric: LoadMetric;
  /** Hysteresis: nothing moves while every node is within ±band of its ideal; a started round aims for ±band/2. */
  readonly band: number;
  /** Most shards one round moves. */
  readonly moveBudget: number;
  /** Every shard counts this share of the mean reported shard load on top of its own, so empty shards still spread. */
  readonly baseLoad: number;
  /** Weight of node CPU (spread over the node's shards by call rate) next to the metric, whose weight is 1. */
  readonly cpuWeight: number;
  /** Weight of node memory (spread over the node's shards by object count). */
  readonly memoryWeight: number;
  /** After a round that moved shards, how long the leader waits before it plans again (load reports lag). */
  readonly settleMs: number;
}

export interface PlannerSettings {
  readonly assignment: AssignmentMode;
  /** Most shards a `count` or `weighted` round moves (upstream RebalanceShardsBatchSize). */
  readonly batchSize: number;
  /** count: largest allowed max-min spread as a share of the ideal; weighted: the same for count/ideal per node. */
  readonly imbalanceThreshold: number;
  readonly minQuorum: number;
  /** How long the set of alive nodes must stay unchanged before the leader acts. */
  readonly stabilityMs: number;
  /** A migration older than this is stuck. */
  readonly stuckTimeoutMs: number;
  /** After asking a live owner to release, how long to wait before cancelling the migration. */
  readonly releaseTimeoutMs: number;
  readonly load: LoadSettings;
}

/** Upstream's defaults (docs/UPSTREAM.md §11) plus ours for the new strategies and stuck recovery. */
export function defaultPlannerSettings(numShards: number): PlannerSettings {
  const batchSize = Math.max(1, Math.floor(numShards / 128));
  return {
    assignment: 'rendezvous',
    batchSize,
    imbalanceThreshold: 0.2,
    minQuorum: 1,
    stabilityMs: 10_000,
    stuckTimeoutMs: 60_000,
    releaseTimeoutMs: 60_000,
    load: { metric: 'calls', band: 0.1, moveBudget: batchSize, baseLoad: 0.05, cpuWeight: 0.5, memoryWeight: 0.25, settleMs: 10_000 },
  };
}

/** The planner settings of a resolved configuration (the leader's, and the console's dry runs). */
export function plannerSettingsFromConfig(config: GoverseConfig): PlannerSettings {
  const base = defaultPlannerSettings(config.numShards);
  return {
    ...base,
    batchSize: config.rebalanceBatchSize,
    imbalanceThreshold: config.imbalanceThreshold,
    minQuorum: config.minQuorum,
    stabilityMs: config.stabilityDuration,
    stuckTimeoutMs: config.stuckTimeout,
    releaseTimeoutMs: config.stuckTimeout,
    load: { ...base.load, metric: config.loadMetric, band: config.loadHysteresis, moveBudget: config.rebalanceMoveBudget, settleMs: config.loadSettle },
  };
}

/**
 * Whether the time-based fence stops a node from serving when its etcd contact is too old (src/cluster/fence.ts).
 * `disabled-for-tests` comes only from GOVERSE_TEST_DISABLE_FENCING, the chaos suite's broken build.
 */
export type FencingMode = 'enforced' | 'disabled-for-tests';

/** A cluster member's settings: its lease and fence, the lifecycle's timing, and what its leader plans with. */
export interface MemberSettings {
  readonly numShards: number;
  readonly leaseTtlSeconds: number;
  /** Serving stops this long before the lease could expire. */
  readonly fenceMarginMs: number;
  readonly fencing: FencingMode;
  /** The safety tick of the lifecycle (passes also run on every watch event). */
  readonly shardCheckIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly strategy: StrategyName;
  readonly planner: PlannerSettings;
  /** Deadline for shard lock acquisitions of claim and release. */
  readonly lockTimeoutMs: number;
  /** How its shard writes (claims, releases, the leader's) retry transient etcd failures. */
  readonly shardWrite: ShardWriteRetry;
  /** Watcher resync period (bounds staleness). */
  readonly resyncIntervalMs?: number;
  /** The cluster history's bounds, which the leader trims by; default DEFAULT_HISTORY_BOUNDS. */
  readonly history?: HistoryBounds;
}

/** The history bounds a member trims by. */
export function memberHistoryBounds(settings: MemberSettings): HistoryBounds {
  return settings.history ?? DEFAULT_HISTORY_BOUNDS;
}

/** The cluster member's settings of a resolved configuration (goverse-node's). */
export function memberSettingsFromConfig(config: GoverseConfig): MemberSettings {
  const ttlMs = config.leaseTtl;
  return {
    numShards: config.numShards,
    leaseTtlSeconds: Math.round(ttlMs / 1000),
    // Serving stops a fifth of the TTL (at most 2 s, at least 300 ms) before the lease could expire.
    fenceMarginMs: Math.max(300, Math.min(2000, ttlMs / 5)),
    fencing: config.testDisableFencing ? 'disabled-for-tests' : 'enforced',
    shardCheckIntervalMs: config.shardCheckInterval,
    shutdownTimeoutMs: config.shutdownTimeout,
    strategy: config.rebalanceStrategy,
    planner: plannerSettingsFromConfig(config),
    lockTimeoutMs: config.lockTimeout,
    shardWrite: shardWriteRetryFromConfig(config),
    history: historyBoundsFromConfig(config),
  };
}
