import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import { migrationRecordLeaseTtlSeconds } from '../core/keyspace/migrationRecord.js';
import { encodeRecord, type NodeInfoRecord } from '../core/keyspace/records.js';
import type { Logger } from '../core/log/logger.js';
import type { LeaderDecision } from '../core/planner/leaderStep.js';
import { memberHistoryBounds, type MemberSettings } from '../core/planner/settings.js';
import { StabilityClock } from '../core/planner/sightings.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import { type ConfiguredShardCount, shardInLayout } from '../core/snapshot/layout.js';
import type { EtcdClient, TxnRequest, TxnResult } from '../edge/etcd/client.js';
import { ExpiringRecordLease, RenewedRecordLease } from '../edge/etcd/migrationRecordLease.js';
import { ShardWriter, type ShardWriterMetrics } from '../edge/etcd/shardWriter.js';
import { ClusterWatcher, type WatcherMetrics, type WatcherStatus } from '../edge/etcd/watcher.js';
import { HistoryLog } from '../edge/history/historyLog.js';
import { type CustodyMetrics, type MemberObjects, ShardCustody } from './custody.js';
import { type LeaderMetrics, LeaderRole } from './leader.js';
import { logJournal, type ReshardJournal } from './reshardLeader.js';
import { adoptShardCount } from './shardCountRecord.js';
import { Membership } from './membership.js';
import { SerialRunner } from './serialRunner.js';
import type { ShardLock } from './shardLock.js';
import { MemberShardWrites } from './shardWrites.js';

/** Lifecycle events for metrics, by role; all optional and synchronous. */
export interface MemberMetrics extends LeaderMetrics, CustodyMetrics {
  watcher?: WatcherMetrics;
  writer?: ShardWriterMetrics;
}

export interface ClusterMemberOptions {
  readonly client: EtcdClient;
  /** The cluster's key layout (its etcd prefix). */
  readonly keys: Keyspace;
  readonly address: string;
  readonly settings: MemberSettings;
  readonly nodeInfo: Omit<NodeInfoRecord, 'state'>;
  readonly lock: ShardLock;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MemberMetrics;
  /** The configured shard count and whether it was set explicitly; default: `settings.numShards`, not explicit. */
  readonly shardCount?: ConfiguredShardCount;
  /** Where the leader reports the phases of shard-count transitions (the cluster history, once wired). */
  readonly journal?: ReshardJournal;
}

export type MemberPhase = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface Readiness {
  readonly ready: boolean;
  readonly etcd: WatcherStatus['kind'];
  readonly synced: boolean;
  readonly registered: boolean;
  readonly phase: MemberPhase;
  readonly draining: boolean;
  /** Shards targeted at this node that it has claimed, out of all targeted at it. */
  readonly claimed: number;
  readonly targeted: number;
  readonly reasons: readonly string[];
}

export interface StopReport {
  readonly mode: 'graceful' | 'fast';
  readonly durationMs: number;
  /** Shards still owned (pinned ones, or what the timeout cut short) when the node deregistered. */
  readonly left: readonly number[];
  readonly timedOut: boolean;
}

/**
 * A cluster member: keeps the node registered (Membership), watches the cluster (ClusterWatcher), and runs the
 * lifecycle on every change and on a safety tick, one pass at a time (SerialRunner): the custody role's node steps
 * (drop lost shards, claim, evict and release), then the leader role's turn (elect; plan and write while leading).
 * Each role gets only what it needs through its context (LeaderContext, CustodyContext).
 */
export class ClusterMember {
  readonly watcher: ClusterWatcher;
  private readonly keys: Keyspace;
  readonly membership: Membership;
  private readonly leader: LeaderRole;
  private readonly custody: ShardCustody;
  private readonly stability: StabilityClock;
  private readonly runner: SerialRunner;
  private readonly log: Logger;
  private objects: MemberObjects | null = null;
  private phase: MemberPhase = 'created';
  private readonly writes: MemberShardWrites;
  /** The shard count last published in the node's info. */
  private publishedCount = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: ClusterMemberOptions) {
    const { client, keys, settings, clock, logger, address } = options;
    const metrics = options.metrics ?? {};
    this.keys = keys;
    this.log = logger.child({ component: 'member', node: address });
    this.watcher = new ClusterWatcher({
      client,
      keys,
      numShards: settings.numShards,
      clock,
      logger,
      metrics: metrics.watcher,
      ...(settings.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: settings.resyncIntervalMs }),
    });
    this.membership = new Membership({
      client,
      keys,
      address,
      ttlSeconds: settings.leaseTtlSeconds,
      fenceMarginMs: settings.fenceMarginMs,
      fencing: settings.fencing,
      clock,
      logger,
      onRegistered: () => this.runner.trigger(),
      onFenced: ({ since }) => this.custody.onFenced(since),
    });
    this.stability = new StabilityClock(clock.now());
    this.runner = new SerialRunner(() => this.pass(), { intervalMs: settings.shardCheckIntervalMs, logger: this.log, name: 'lifecycle' });
    const recordTtl = migrationRecordLeaseTtlSeconds(settings.planner.stuckTimeoutMs);
    const writer = new ShardWriter({ client, keys, retry: settings.shardWrite, logger, metrics: metrics.writer });
    const writes = new MemberShardWrites(keys, writer, this.watcher, new ExpiringRecordLease(client, recordTtl), this.log);
    this.writes = writes;
    const snapshot = (): ClusterSnapshot => this.watcher.snapshot;
    const shared = { address, settings, clock, log: this.log, metrics, writes, snapshot };
    const txn = (request: TxnRequest): Promise<TxnResult> => client.txn(request);
    this.leader = new LeaderRole({
      ...shared,
      keys,
      history: new HistoryLog({ client, keys, bounds: memberHistoryBounds(settings), clock, logger }),
      recordLease: new RenewedRecordLease(client, recordTtl, this.log),
      stableSince: () => this.stability.since,
      txn,
      putLeased: (key, value) => this.membership.putLeased(key, value),
      passIn: (ms) => this.runner.triggerIn(ms),
      withOwnClaims: (writes, write) => this.custody.withOwnClaims(writes, write),
      journal: options.journal ?? logJournal(this.log),
    });
    this.custody = new ShardCustody({
      ...shared,
      lock: options.lock,
      objects: () => this.objects,
      stopping: () => this.phase === 'stopping',
      runPass: () => this.runner.runNow(),
      waitForChange: (ms) => this.waitForChange(ms),
      pairs: { keys, log: this.log, writes, txn, waitForRevision: (revision, ms) => this.waitForRevision(revision, ms) },
    });
  }

  get address(): string {
    return this.options.address;
  }

  get snapshot(): ClusterSnapshot {
    return this.watcher.snapshot;
  }

  get currentPhase(): MemberPhase {
    return this.phase;
  }

  /** The leader's latest decision (null on followers). */
  get decision(): LeaderDecision | null {
    return this.leader.decision;
  }

  /** Connects the node's objects (evicted when shards leave). Call before start(). */
  attachObjects(objects: MemberObjects): void {
    this.objects = objects;
  }

  /**
   * Loads the cluster state, checks the shard count against the cluster's record (creating it when absent; a
   * disagreement is a ConfigError), registers, and starts the lifecycle. Resolves once the node key exists.
   */
  async start(signal?: AbortSignal): Promise<void> {
    this.phase = 'starting';
    this.unsubscribe = this.watcher.subscribe((ev) => {
      if (ev.type !== 'snapshot') return;
      const stableSince = this.stability.since;
      this.stability.observe(ev.changes, this.options.clock.now());
      if (this.stability.since !== stableSince) this.leader.stabilityChanged();
      if (ev.snapshot.layout.count !== this.publishedCount && this.phase === 'running') void this.publishNodeInfo('running');
      this.runner.trigger();
    });
    await this.watcher.start(signal ? { signal } : {});
    const { keys, log, options } = this;
    const shardCount = options.shardCount ?? { count: options.settings.numShards, explicit: null };
    await adoptShardCount({ keys, log, writes: this.writes, snapshot: () => this.watcher.snapshot, txn: (r) => options.client.txn(r) }, shardCount);
    await this.membership.putLeased(this.keys.nodeInfo(this.address), this.nodeInfoValue('running'));
    await this.membership.start(signal);
    this.phase = 'running';
    this.runner.start();
  }

  /** Runs one lifecycle pass now (tests and the stop sequence use it to avoid waiting for a trigger). */
  runPass(): Promise<void> {
    return this.runner.runNow();
  }

  // ---- ShardGate (what the object host asks before serving) -------------------------------------------------

  /** The epoch under which this node may serve the shard now, or null. Checked on every call, under the lock. */
  shardEpoch(shardId: number): number | null {
    if (!this.membership.fence.isServing()) return null;
    return this.custody.servingEpoch(this.watcher.snapshot, shardId);
  }

  /** The epoch of every shard this node may serve now, by shard. */
  servedEpochs(): Map<number, number> {
    const served = new Map<number, number>();
    for (let id = 0; id < this.watcher.snapshot.numShards; id++) {
      const epoch = this.shardEpoch(id);
      if (epoch !== null) served.set(id, epoch);
    }
    return served;
  }

  /** The epoch for fixed-node objects: this registration's revision, or null while fenced. */
  nodeEpoch(): number | null {
    const f = this.membership.fence.current;
    return f.kind === 'registered' ? f.registeredRevision : null;
  }

  isLeader(): boolean {
    return this.leader.isLeader();
  }

  readiness(): Readiness {
    const snap = this.watcher.snapshot;
    const etcd = this.watcher.status.kind;
    const registered = this.membership.fence.isServing();
    const draining = snap.drains.has(this.address);
    let targeted = 0;
    let claimed = 0;
    for (const entry of snap.shards) {
      if (entry?.target !== this.address) continue;
      targeted++;
      if (this.shardEpoch(entry.id) !== null) claimed++;
    }
    const reasons: string[] = [];
    if (etcd !== 'synced') reasons.push(`etcd ${etcd}`);
    if (snap.revision === 0) reasons.push('cluster state not loaded');
    if (!registered) reasons.push('not registered (or fenced)');
    if (this.phase !== 'running') reasons.push(`node ${this.phase}`);
    if (draining) reasons.push('draining');
    if (claimed < targeted) reasons.push(`claimed ${claimed}/${targeted} targeted shards`);
    if (targeted === 0 && snap.shards.some((e, id) => (e === undefined ? shardInLayout(snap, id) : e.current === ''))) reasons.push('no shards claimed yet');
    return { ready: reasons.length === 0, etcd, synced: snap.revision > 0, registered, phase: this.phase, draining, claimed, targeted, reasons };
  }

  /**
   * Graceful stop: refuse new objects, announce `stopping` (no new targets), hand leadership and every unpinned
   * shard over, evict and release as the new targets come, then deregister; bounded by the shutdown timeout.
   * Fast stop keeps the assignments for a quick restart: evict (saving) and deregister at once.
   */
  async stop(mode: 'graceful' | 'fast' = 'graceful'): Promise<StopReport> {
    const started = this.options.clock.monotonic();
    if (this.phase === 'stopped' || this.phase === 'created') {
      return { mode, durationMs: 0, left: [], timedOut: false };
    }
    this.phase = 'stopping';
    this.objects?.refuseActivations();
    let timedOut = false;
    if (mode === 'graceful' && this.membership.fence.isServing()) {
      await this.announceStopping();
      await this.leader.resign();
      timedOut = !(await this.custody.handOver(started + this.options.settings.shutdownTimeoutMs));
    }
    await this.runner.stop();
    this.unsubscribe?.();
    const left = this.custody.owned();
    if (this.objects !== null) {
      const report = await this.objects.evictAll({ kind: 'save' });
      if (report.failed.length > 0) this.log.error('objects could not be saved on stop', { failed: report.failed.length });
    }
    await this.leader.resign();
    await this.membership.stop();
    await this.watcher.stop();
    this.phase = 'stopped';
    const durationMs = Math.round(this.options.clock.monotonic() - started);
    if (left.length > 0) this.log.warn('stopped while still owning shards', { mode, left: left.length, shards: left.slice(0, 50) });
    this.log.info('stopped', { mode, durationMs, timedOut });
    return { mode, durationMs, left, timedOut };
  }

  // ---- the lifecycle pass --------------------------------------------------------------------------------------

  private async pass(): Promise<void> {
    if (this.watcher.snapshot.revision === 0) return;
    // A fenced node (maybe just thawed, before its keepalive loop noticed) leaves its objects to onFenced, which drops
    // them unsaved and dates their end at the fence time; evicting lost shards here would save them and date it now.
    if (!this.membership.fence.isServing()) return;
    this.custody.dropLost();
    // Node steps first: a claim or release must not wait behind the leader's planning and record writes.
    await this.custody.claim();
    await this.custody.release();
    await this.custody.reshard();
    if (this.phase === 'running') await this.leader.turn();
  }

  /** Announces `stopping` in the node's info, so the leader gives it no new targets. */
  private announceStopping(): Promise<void> {
    return this.publishNodeInfo('stopping');
  }

  /** True once the snapshot has reached `revision`; false after `ms`. */
  private async waitForRevision(revision: number, ms: number): Promise<boolean> {
    const deadline = this.options.clock.monotonic() + ms;
    while (this.watcher.snapshot.revision < revision) {
      const left = deadline - this.options.clock.monotonic();
      if (left <= 0) return false;
      await this.waitForChange(Math.min(left, 100));
    }
    return true;
  }

  /** Republishes the node's info (its shard count follows the record). */
  private async publishNodeInfo(state: NodeInfoRecord['state']): Promise<void> {
    try {
      await this.membership.putLeased(this.keys.nodeInfo(this.address), this.nodeInfoValue(state));
    } catch (err) {
      this.log.warn('could not publish the node info', { err: describeError(err) });
    }
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      const off = this.watcher.subscribe((ev) => {
        if (ev.type === 'snapshot') finish();
      });
      function finish(): void {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }

  /** The node's info: it follows shard-count transitions (`reshard: 1`) and serves with the count in force. */
  private nodeInfoValue(state: NodeInfoRecord['state']): string {
    this.publishedCount = this.watcher.snapshot.layout.count;
    return encodeRecord({ ...this.options.nodeInfo, state, reshard: 1, shardCount: this.publishedCount });
  }
}
