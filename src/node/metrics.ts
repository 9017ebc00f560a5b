import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MemberMetrics, Readiness } from '../cluster/member.js';
import type { LockMode, ShardLockHooks, ShardLockStats } from '../cluster/shardLock.js';
import { isPinned } from '../core/keyspace/shardValue.js';
import { imbalance } from '../core/planner/imbalance.js';
import { listMigrations, trackFirstSeen, type FirstSeen } from '../core/planner/stuck.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import { type CounterSeries, type HistogramSeries, HotCounter, HotHistogram } from './hotMetrics.js';
import type { HostStats } from './objects/objectHost.js';

/** What the scrape-time gauges read; bound once the node's parts exist. */
export interface MetricsSources {
  snapshot(): ClusterSnapshot;
  hostStats(): HostStats;
  readiness(): Readiness;
  lockStats(): ShardLockStats;
  stuckTimeoutMs: number;
}

const CALL_BUCKETS = [0.001, 0.01, 0.1, 1, 10];
const OP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];
const SHARD_OP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const MIGRATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const LOCK_BUCKETS = [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

/**
 * The node's Prometheus registry: what its `/metrics` serves (the console's summary of a scrape is the view's
 * `NodeMetrics`). Upstream names and labels are kept where upstream has them (their fixed
 * semantics are documented in the README); cluster-wide figures are computed from the etcd snapshot at scrape time.
 */
export class NodeMetricsRegistry {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;
  private firstSeen: ReadonlyMap<number, FirstSeen> = new Map();

  // Updated on every object call: hot-path metrics, their series looked up once per label set.
  private readonly methodCalls: HotCounter;
  private readonly methodDuration: HotHistogram;
  private readonly shardMethodCalls: HotCounter;
  private readonly operationDuration: HotHistogram;
  private readonly callSeries = new Map<string, { readonly calls: CounterSeries; readonly duration: HistogramSeries }>();
  private readonly shardCallSeries: (CounterSeries | undefined)[] = [];
  private readonly operationSeries = new Map<string, HistogramSeries>();
  readonly operationTimeouts: Counter<'node_addr' | 'operation'>;
  /** Object store failures by operation (`load`, `save`, `delete`, `probe`) and store code (`SQLITE_FULL`, ...). */
  readonly persistenceErrors: Counter<'op' | 'code'>;
  readonly stopDuration: Histogram<'node_addr' | 'status'>;

  constructor(readonly node: string) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    const srcs = (): MetricsSources | null => this.sources;
    const migrationsOf = (s: MetricsSources) => this.migrations(s);

    // ---- objects and calls (upstream names) ----
    new Gauge({
      name: 'goverse_objects_total',
      help: 'Active objects on this node by type and shard (a gauge: it goes down on eviction and deletion)',
      labelNames: ['node', 'type', 'shard'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        if (s === null) return;
        for (const [type, perShard] of s.hostStats().objectsByTypeAndShard) {
          for (const [shard, count] of perShard) this.set({ node: node, type, shard: shard === null ? 'node' : String(shard) }, count);
        }
      },
    });
    this.methodCalls = new HotCounter(
      'goverse_method_calls_total',
      'Object method calls executed on this node',
      ['node', 'object_type', 'method_name', 'status'],
      r,
    );
    this.methodDuration = new HotHistogram(
      'goverse_method_call_duration',
      'Object method call duration in seconds (upstream name, without a unit suffix)',
      ['node', 'object_type', 'method_name', 'status'],
      CALL_BUCKETS,
      r,
    );
    this.shardMethodCalls = new HotCounter('goverse_shard_method_calls_total', 'Object method calls executed on this node, by shard', ['shard'], r);
    this.operationDuration = new HotHistogram(
      'goverse_operation_duration_seconds',
      'Duration of object API operations (CallObject, CreateObject, DeleteObject) served by this node',
      ['node_addr', 'operation', 'status'],
      OP_BUCKETS,
      r,
    );
    this.operationTimeouts = new Counter({
      name: 'goverse_operation_timeouts_total',
      help: 'Object API operations that ended in a timeout',
      labelNames: ['node_addr', 'operation'],
      registers: [r],
    });
    this.persistenceErrors = new Counter({
      name: 'goverse_persistence_errors_total',
      help: 'Object store operations that failed (StaleEpochError fencing aside), by operation and store error code',
      labelNames: ['op', 'code'],
      registers: [r],
    });
    this.stopDuration = new Histogram({
      name: 'goverse_node_stop_duration_seconds',
      help: 'Wall time of a node stop (served until the ops server closes)',
      labelNames: ['node_addr', 'status'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers: [r],
    });

    // ---- cluster-wide shard figures from the etcd snapshot (every node exports the same view) ----
    new Gauge({
      name: 'goverse_shards_total',
      help: 'Shards by CurrentNode, for every alive node (0 for nodes owning none); cluster-wide view',
      labelNames: ['node'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        if (s === null) return;
        const snap = s.snapshot();
        const counts = new Map<string, number>([...snap.nodes.keys()].map((n) => [n, 0]));
        for (const e of snap.shards) if (e !== undefined && e.current !== '' && counts.has(e.current)) counts.set(e.current, counts.get(e.current)! + 1);
        for (const [node, n] of counts) this.set({ node }, n);
      },
    });
    new Gauge({
      name: 'goverse_shards_migrating',
      help: 'Shards whose TargetNode and CurrentNode are both set and differ (upstream semantics)',
      registers: [r],
      collect() {
        const s = srcs();
        if (s === null) return;
        let n = 0;
        for (const e of s.snapshot().shards) if (e !== undefined && e.target !== '' && e.current !== '' && e.target !== e.current) n++;
        this.set(n);
      },
    });
    new Gauge({
      name: 'goverse_shards_pinned',
      help: 'Shards carrying the pinned flag',
      registers: [r],
      collect() {
        const s = srcs();
        if (s === null) return;
        this.set(s.snapshot().shards.filter((e) => e !== undefined && isPinned(e)).length);
      },
    });
    new Gauge({
      name: 'goverse_shard_imbalance',
      help: 'Target shards per eligible node: stat = max, min (shards), max_over_ideal, min_over_ideal and their ratio (against the weighted ideal)',
      labelNames: ['stat'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        if (s === null) return;
        const f = imbalance(s.snapshot());
        this.set({ stat: 'max' }, f.maxTargets);
        this.set({ stat: 'min' }, f.minTargets);
        this.set({ stat: 'max_over_ideal' }, f.maxOverIdeal);
        this.set({ stat: 'min_over_ideal' }, f.minOverIdeal);
        this.set({ stat: 'ratio' }, f.minOverIdeal > 0 ? f.maxOverIdeal / f.minOverIdeal : 0);
      },
    });
    new Gauge({
      name: 'goverse_shard_migration_age_seconds',
      help: 'Age of each shard in migration (TargetNode != CurrentNode), from its migration record or first sighting',
      labelNames: ['shard', 'state'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        if (s === null) return;
        for (const m of migrationsOf(s)) this.set({ shard: String(m.shardId), state: m.state }, m.ageMs / 1000);
      },
    });
    new Gauge({
      name: 'goverse_shards_in_migration',
      help: 'Shards in migration (TargetNode != CurrentNode, including released and unclaimed ones)',
      registers: [r],
      collect() {
        const s = srcs();
        if (s === null) return;
        this.set(migrationsOf(s).length);
      },
    });
    new Gauge({
      name: 'goverse_shards_stuck',
      help: 'Shards in migration for longer than the stuck timeout, by state',
      labelNames: ['state'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        if (s === null) return;
        const counts = new Map<string, number>();
        for (const m of migrationsOf(s)) if (m.ageMs >= s.stuckTimeoutMs) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'goverse_cluster_leader',
      help: 'The leader named by <prefix>/leader (1 for its address; 0 series absent when there is none)',
      labelNames: ['leader', 'alive'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        const leader = s?.snapshot().leader;
        if (leader) this.set({ leader: leader.address, alive: String(s!.snapshot().nodes.has(leader.address)) }, 1);
      },
    });
    new Gauge({
      name: 'goverse_node_ready',
      help: 'This node\'s /ready verdict (1 ready, 0 not)',
      registers: [r],
      collect() {
        const s = srcs();
        if (s !== null) this.set(s.readiness().ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'goverse_node_shards',
      help: 'Shards targeted at this node and those it has claimed and serves',
      labelNames: ['node', 'kind'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        if (s === null) return;
        const ready = s.readiness();
        this.set({ node: node, kind: 'targeted' }, ready.targeted);
        this.set({ node: node, kind: 'claimed' }, ready.claimed);
      },
    });
    new Gauge({
      name: 'goverse_node_fenced',
      help: '1 while this node refuses to serve because its registration is lost or its etcd contact too old',
      registers: [r],
      collect() {
        const s = srcs();
        if (s !== null) this.set(s.readiness().registered ? 0 : 1);
      },
    });

    // ---- shard lifecycle ----
    const claims = new Counter({ name: 'goverse_shard_claims_total', help: 'Shards claimed by this node', labelNames: ['node'], registers: [r] });
    const releases = new Counter({ name: 'goverse_shard_releases_total', help: 'Shards released by this node', labelNames: ['node'], registers: [r] });
    const claimDuration = new Histogram({
      name: 'goverse_shard_claim_duration_seconds',
      help: 'Duration of a claim round (shard locks plus the etcd write)',
      buckets: SHARD_OP_BUCKETS,
      registers: [r],
    });
    const releaseDuration = new Histogram({
      name: 'goverse_shard_release_duration_seconds',
      help: 'Duration of a release round (shard locks, eviction with saves, the etcd write)',
      buckets: SHARD_OP_BUCKETS,
      registers: [r],
    });
    const migrationDuration = new Histogram({
      name: 'goverse_shard_migration_duration_seconds',
      help: 'End-to-end migration time, from the TargetNode change to the claim by this node',
      buckets: MIGRATION_BUCKETS,
      registers: [r],
    });
    const migrations = new Counter({
      name: 'goverse_shard_migrations_total',
      help: 'Migrations completed by this node\'s claims, counted once (by the claimer), by previous owner',
      labelNames: ['from_node', 'to_node'],
      registers: [r],
    });
    const decisions = new Counter({
      name: 'goverse_rebalance_decisions_total',
      help: 'Leader decisions by outcome (reassign, recover, rebalance, skipped) and reason',
      labelNames: ['outcome', 'reason'],
      registers: [r],
    });
    const interventions = new Counter({
      name: 'goverse_stuck_interventions_total',
      help: 'Leader interventions on stuck migrations, by action',
      labelNames: ['action'],
      registers: [r],
    });
    const reallocations = new Counter({
      name: 'goverse_shard_reallocations_total',
      help: 'Stuck shards the leader retargeted (upstream name), by original target',
      labelNames: ['from_node'],
      registers: [r],
    });
    const stuckDetected = new Counter({
      name: 'goverse_stuck_migrations_detected_total',
      help: 'Stuck migration episodes the leader detected (logged once each), by state',
      labelNames: ['state'],
      registers: [r],
    });
    const writeFailures = new Counter({
      name: 'goverse_shard_mapping_write_failures_total',
      help: 'Shard mapping writes that failed, by category',
      labelNames: ['error_type'],
      registers: [r],
    });
    const writeRetries = new Counter({
      name: 'goverse_shard_mapping_write_retries_total',
      help: 'Shard mapping transactions retried after a transient failure, by category',
      labelNames: ['error_type'],
      registers: [r],
    });
    const reconnects = new Counter({
      name: 'goverse_watch_reconnections_total',
      help: 'Watch recoveries: reconnected, or a failed re-list',
      labelNames: ['node_addr', 'outcome'],
      registers: [r],
    });
    const isLeader = new Gauge({ name: 'goverse_node_is_leader', help: '1 while this node is the leader', registers: [r] });
    for (const e of ['modrevision_conflict', 'timeout', 'connection_error', 'other']) writeFailures.inc({ error_type: e }, 0);

    this.member = {
      claimed: (n, ms) => {
        claims.inc({ node: this.node }, n);
        claimDuration.observe(ms / 1000);
      },
      released: (n, ms) => {
        releases.inc({ node: this.node }, n);
        releaseDuration.observe(ms / 1000);
      },
      migrationCompleted: (ms, from) => {
        migrationDuration.observe(ms / 1000);
        migrations.inc({ from_node: from, to_node: this.node });
      },
      decision: (outcome, reason) => decisions.inc({ outcome, reason }),
      intervention: (kind, target) => {
        interventions.inc({ action: kind });
        if (kind === 'retarget') reallocations.inc({ from_node: target });
      },
      stuckDetected: (state) => stuckDetected.inc({ state }),
      leader: (leading) => isLeader.set(leading ? 1 : 0),
      watcher: { onReconnect: (outcome) => reconnects.inc({ node_addr: this.node, outcome }) },
      writer: {
        onWriteFailures: (category, shards) => writeFailures.inc({ error_type: category }, shards),
        onRetry: (category) => writeRetries.inc({ error_type: category }),
      },
    };

    // ---- shard locks ----
    const lockAcq = new HotCounter('goverse_shard_lock_acquisitions_total', 'Shard lock acquisitions by mode', ['mode'], r);
    const lockWait = new HotHistogram('goverse_shard_lock_wait_seconds', 'Time spent waiting for a shard lock, by mode', ['mode'], LOCK_BUCKETS, r);
    const acquisitions = { read: lockAcq.series('read'), write: lockAcq.series('write') };
    const waits = { read: lockWait.series('read'), write: lockWait.series('write') };
    const writeHeld = new Gauge({ name: 'goverse_shard_write_locks_held', help: 'Shard write locks held now', registers: [r] });
    const lockTimeouts = new Counter({ name: 'goverse_shard_lock_timeouts_total', help: 'Shard lock acquisitions that timed out', labelNames: ['mode'], registers: [r] });
    const lockForced = new Counter({
      name: 'goverse_shard_lock_forced_releases_total',
      help: 'Shard locks force-released after the maximum hold time',
      labelNames: ['mode'],
      registers: [r],
    });
    const lockSlow = new Counter({
      name: 'goverse_shard_lock_slow_acquisitions_total',
      help: 'Shard lock acquisitions slower than the warning threshold',
      labelNames: ['mode'],
      registers: [r],
    });
    const lockAborted = new Counter({ name: 'goverse_shard_lock_aborts_total', help: 'Shard lock waits abandoned by the caller', labelNames: ['mode'], registers: [r] });
    new Gauge({
      name: 'goverse_shard_lock_contended',
      help: 'Hottest shards by lock wait in the recent window: stat = waits, wait_seconds, max_wait_seconds, timeouts',
      labelNames: ['shard', 'stat'],
      registers: [r],
      collect() {
        this.reset();
        const s = srcs();
        if (s === null) return;
        for (const h of s.lockStats().hotShards) {
          const shard = String(h.shardId);
          this.set({ shard, stat: 'waits' }, h.waits);
          this.set({ shard, stat: 'wait_seconds' }, h.totalWaitMs / 1000);
          this.set({ shard, stat: 'max_wait_seconds' }, h.maxWaitMs / 1000);
          this.set({ shard, stat: 'timeouts' }, h.timeouts);
        }
      },
    });
    for (const mode of ['read', 'write'] as LockMode[]) {
      lockTimeouts.inc({ mode }, 0);
      lockForced.inc({ mode }, 0);
    }
    this.lock = {
      acquired: (mode, waitMs) => {
        acquisitions[mode].value++;
        waits[mode].observe(waitMs / 1000);
      },
      writeLocksHeld: (n) => writeHeld.set(n),
      timedOut: (mode) => lockTimeouts.inc({ mode }),
      aborted: (mode) => lockAborted.inc({ mode }),
      forcedRelease: (mode) => lockForced.inc({ mode }),
      slowAcquisition: (mode) => lockSlow.inc({ mode }),
    };
  }

  /** Hooks for the cluster member (lifecycle, watcher, shard writer). */
  readonly member: MemberMetrics;
  /** Hooks for the shard lock. */
  readonly lock: ShardLockHooks;

  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  recordCall(type: string, method: string, shardId: number | null, status: 'success' | 'failure', seconds: number): void {
    const key = `${type}\u0000${method}\u0000${status}`;
    let series = this.callSeries.get(key);
    if (series === undefined) {
      const labels = [this.node, type, method, status];
      series = { calls: this.methodCalls.series(...labels), duration: this.methodDuration.series(...labels) };
      this.callSeries.set(key, series);
    }
    series.calls.value++;
    series.duration.observe(seconds);
    if (shardId !== null) (this.shardCallSeries[shardId] ??= this.shardMethodCalls.series(String(shardId))).value++;
  }

  recordOperation(operation: 'CallObject' | 'CreateObject' | 'DeleteObject', status: 'success' | 'error' | 'timeout', seconds: number): void {
    const key = `${operation}\u0000${status}`;
    let series = this.operationSeries.get(key);
    if (series === undefined) this.operationSeries.set(key, (series = this.operationDuration.series(this.node, operation, status)));
    series.observe(seconds);
    if (status === 'timeout') this.operationTimeouts.inc({ node_addr: this.node, operation });
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Migrations with ages; first sightings are kept across scrapes so moves without a record age too. */
  private migrations(s: MetricsSources) {
    const snap = s.snapshot();
    const now = Date.now();
    this.firstSeen = trackFirstSeen(this.firstSeen, snap, now);
    return listMigrations(snap, this.firstSeen, now);
  }
}
