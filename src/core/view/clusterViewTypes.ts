import type { CannotFollow } from '../planner/countFollowers.js';
import type { PlannerContext } from '../planner/context.js';
import type { ImbalanceFigures } from '../planner/imbalance.js';
import type { ReshardProgress } from '../planner/reshard.js';
import type { FirstSeen, Migration, StuckShard } from '../planner/stuck.js';
import type { UpstreamPresence } from '../planner/upstream.js';
import type { ClusterSnapshot, MalformedEntry } from '../snapshot/snapshot.js';
import type { BalancerInput, BalancerView } from './balancer.js';
import type { LoadSources } from './loadColumns.js';
import type { MigrationList, MigrationReading } from './migrationList.js';
import type { NodeRows } from './nodeRows.js';
import type { DecisionCount, HotShardFigures, NodeFigures, NodeMetrics } from './nodeMetrics.js';
import type { Tally } from './shardColumns.js';
import type { ShardIndex, ShardLayout } from './shardIndex.js';
import type { ShardFilterState, ShardState } from './shardState.js';

export interface ViewInput {
  readonly snapshot: ClusterSnapshot;
  /** Epoch ms. */
  readonly now: number;
  readonly stuckTimeoutMs: number;
  readonly balancer: BalancerInput;
  /** Per node address, its latest scrape summary (`summarizeScrape`); a node missing here shows metrics `none`. */
  readonly metrics?: ReadonlyMap<string, NodeMetrics>;
  /** Metrics URLs not used, and why: explicit URLs not matched to a node, published ops URLs ignored. */
  readonly unmatchedMetrics?: readonly { readonly url: string; readonly reason: string }[];
  /** First sightings of migrations without a record (`trackFirstSeen`), kept by watchers; one-shot commands omit it. */
  readonly firstSeen?: ReadonlyMap<number, FirstSeen>;
  /**
   * The view built before from an earlier input, so that only what changed since is computed again. It is consumed:
   * its shard columns are updated in place for the new view and must not be read afterwards.
   */
  readonly previous?: ClusterView;
  /**
   * Every shard whose entry or migration record may differ between `previous.snapshot` and `snapshot` (the watch's
   * changes since), so the rebuild does not compare them all; omitted or null: they are compared.
   */
  readonly changedShards?: Iterable<number> | null;
  /**
   * Every node address whose nodeinfo, load record, drain or metrics may differ from `previous`'s inputs (the watch's
   * changes and the scrapes published since), so node rows are compared for those only; omitted or null: all are.
   */
  readonly changedNodes?: Iterable<string> | null;
  /** How many of the hottest lock-contended shards to keep (default 20). */
  readonly hotShardLimit?: number;
}

/** Whether a node's metrics could be read, and if not, why. */
export type MetricsStatus =
  | { readonly kind: 'ok'; readonly url: string; readonly atMs: number }
  /** Answered, but not lately: the figures shown are older than the source's stale threshold. */
  | { readonly kind: 'stale'; readonly url: string; readonly atMs: number }
  | { readonly kind: 'unreachable' | 'malformed'; readonly url: string; readonly atMs: number; readonly reason: string }
  | { readonly kind: 'none'; readonly reason: string };

/** `eligible` for new targets, why an alive node is not (`cannot-follow`: it cannot follow a shard-count change), or `dead` (not registered, only named by records). */
export type NodeStatus = 'eligible' | 'draining' | 'stopping' | 'cannot-follow' | 'dead';

/**
 * One node. The metrics figures (`ready` ... `lockTimeouts`) are those of its latest scrape (the last good one while
 * it does not answer); `objects` and `callRate` fall back to its load record in etcd. null: unknown, never 0.
 */
export interface NodeView
  extends Pick<NodeFigures, 'ready' | 'objects' | 'callRate' | 'lockAcquisitions' | 'lockWaitP99Ms' | 'writeLocksHeld' | 'lockTimeouts'> {
  /** Position in `ClusterView.nodes`; the value stored in `ShardColumns.target` and `.current`. */
  readonly index: number;
  readonly address: string;
  /** From nodeinfo (our nodes); null for upstream nodes. */
  readonly nodeId: string | null;
  readonly alive: boolean;
  readonly leader: boolean;
  readonly status: NodeStatus;
  readonly draining: boolean;
  readonly stopping: boolean;
  readonly weight: number;
  readonly shardsTarget: number;
  readonly shardsOwned: number;
  readonly shardsPinned: number;
  /** Weighted ideal share of shards (0 when not eligible). */
  readonly ideal: number;
  readonly targetsOverIdeal: number | null;
  /** From the load record: CPU in cores and resident memory. */
  readonly cpu: number | null;
  readonly rssBytes: number | null;
  readonly version: string | null;
  readonly startedAt: number | null;
  readonly metrics: MetricsStatus;
}

/**
 * Per-shard figures as flat arrays indexed by shard ID, so 8192 shards cost no objects per rebuild. Node columns hold
 * an index into `ClusterView.nodes` (-1 for none).
 */
export interface ShardColumns {
  /** Index into SHARD_STATES. */
  readonly state: Uint8Array;
  /** SHARD_FLAG bits. */
  readonly flags: Uint8Array;
  readonly target: Int32Array;
  readonly current: Int32Array;
  /** Objects per shard (NaN when unknown). */
  readonly objects: Float64Array;
  /** Calls per second per shard (NaN when unknown). */
  readonly calls: Float64Array;
}

export interface ShardCounts {
  /** Shards in the layout now: the count in force, plus the pairs split (or minus those merged) during a transition. */
  readonly total: number;
  /** CurrentNode set and alive. */
  readonly owned: number;
  readonly unowned: number;
  readonly stable: number;
  /**
   * The state `migrating`: owned by one alive node, targeted at another. The one figure called "migrating" (the
   * console's header, `status`, `watch`); the other states and `inMigration` are counted apart.
   */
  readonly migrating: number;
  readonly unclaimed: number;
  readonly noTarget: number;
  readonly orphaned: number;
  /** High shards of a transition whose key does not exist (state `absent`): not in `total`. */
  readonly absent: number;
  /** TargetNode != CurrentNode, whatever the state. */
  readonly inMigration: number;
  readonly pinned: number;
  readonly stuck: number;
  /** Values parsed with warnings. */
  readonly withWarnings: number;
}

/** Node figures the header and the pane titles show, counted once per rebuild. */
export interface NodeCounts {
  /** Every node listed (alive or named by records and shards). */
  readonly total: number;
  readonly alive: number;
  readonly draining: number;
  /** Nodes that cannot follow a shard-count change while it matters (status `cannot-follow`: they get no shards). */
  readonly cannotFollow: number;
  /** Alive nodes by the state of their metrics: fresh, stale, failing (unreachable or malformed); the rest have none. */
  readonly metricsOk: number;
  readonly metricsStale: number;
  readonly metricsFailing: number;
}

export interface HotShardView extends HotShardFigures {
  readonly node: string;
}

/** The console data model: one immutable, pre-aggregated view of the cluster, rendered by the console and the CLI. */
export interface ClusterView {
  readonly snapshot: ClusterSnapshot;
  readonly now: number;
  readonly stuckTimeoutMs: number;
  readonly leader: { readonly address: string; readonly alive: boolean } | null;
  /** Alive nodes and every address a record names, byte-wise sorted. */
  readonly nodes: readonly NodeView[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  readonly nodeCounts: NodeCounts;
  readonly gates: readonly string[];
  /** Upstream nodes and gates among the members, and the shards of goverse-nodes their calls cannot reach. */
  readonly upstream: UpstreamPresence;
  /** The shard-count transition under way and its pairs done, or null (the count in force is `snapshot.layout.count`). */
  readonly reshard: ReshardProgress | null;
  /** Alive members that cannot follow a change of the shard count, and why (`cannotFollowMatters` says if it matters now). */
  readonly cannotFollow: readonly CannotFollow[];
  readonly shards: ShardColumns;
  /** The shards grouped by owner, and the notable ones (the shard map's layout). */
  readonly layout: ShardLayout;
  readonly counts: ShardCounts;
  readonly imbalance: Omit<ImbalanceFigures, 'nodes'>;
  readonly balancer: BalancerView;
  /**
   * Every unsettled shard (in migration, or pinned to a node that is not alive: what can get stuck), unknown starts
   * first, then oldest first. Worked out when first read, which must be before the next view is built from this one.
   */
  readonly migrations: readonly Migration[];
  /** The stuck migrations (stuckAmong), in the same order, each with its reason; read as `migrations` is. */
  readonly stuck: readonly StuckShard[];
  /** The most lock-contended shards over every node, by wait time. */
  readonly hotShards: readonly HotShardView[];
  /** Leader decisions by outcome and reason, summed over the nodes' metrics (each counts since it started), most first. */
  readonly decisions: readonly DecisionCount[];
  /** Keys under the prefix that could not be decoded, by key. */
  readonly malformed: readonly MalformedEntry[];
  readonly unmatchedMetrics: readonly { readonly url: string; readonly reason: string }[];
  /** What the next incremental rebuild continues from; not for rendering. */
  readonly internal: ViewInternals;
}

/** The mutable shard storage a view owns until a later view takes it over (`retired`). */
export interface ViewStorage {
  retired: boolean;
  readonly columns: ShardColumns;
  readonly tally: Tally;
  readonly index: ShardIndex;
  readonly migrations: MigrationList;
}

/** A view's inputs and derived state, compared by identity by the next rebuild. */
export interface ViewInternals {
  readonly storage: ViewStorage;
  /** What the per-shard objects and calls were filled from. */
  readonly loadSources: LoadSources;
  /** Addresses listed by records (and metrics), and the record maps and metrics they were taken from. */
  readonly listed: Pick<ClusterSnapshot, 'nodes' | 'nodeInfo' | 'drains'> & {
    readonly fromRecords: ReadonlySet<string>;
    readonly all: ReadonlySet<string>;
    readonly metrics: ReadonlyMap<string, NodeMetrics>;
  };
  readonly context: Pick<ClusterSnapshot, 'nodes' | 'nodeInfo' | 'drains'> & { readonly ctx: PlannerContext };
  /** The node rows, the header's counts and what each row was built from. */
  readonly rows: NodeRows;
  /** The shards flagged stuck, to clear before the next rebuild flags them again. */
  readonly stuckIds: readonly number[];
  /** The view's migrations and stuck shards, read from the list when asked. */
  readonly reading: MigrationReading;
}

/** One shard in full, for tables, JSON and the console's details. */
export interface ShardRow {
  readonly id: number;
  readonly target: string;
  readonly current: string;
  readonly flags: readonly string[];
  readonly state: ShardState;
  readonly pinned: boolean;
  readonly stuck: boolean;
  /** Age of the migration: null when not in migration, or when its start is unknown (`ageSource` says which). */
  readonly ageMs: number | null;
  /** What the age rests on (Migration's `ageSource`); null when not in migration. */
  readonly ageSource: Migration['ageSource'] | null;
  /** The stuck reason (null when not stuck). */
  readonly reason: string | null;
  /** 0 when the key is absent. */
  readonly modRevision: number;
  /** The stored value (null when the key is absent). */
  readonly raw: string | null;
  readonly warnings: readonly string[];
  readonly objects: number | null;
  readonly calls: number | null;
}

export interface ShardFilter {
  /** Shards whose target or current is this node. */
  readonly node?: string;
  /** Any of these states or flags. */
  readonly states?: readonly ShardFilterState[];
  /** Only these IDs (ascending, in range). */
  readonly ids?: readonly number[];
}

