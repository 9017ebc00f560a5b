import type { Clock } from '../core/clock.js';
import { describeError, ValueTooLargeError } from '../core/errors.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import { encodeRecord, type BalancerStatusRecord, type NodeInfoRecord } from '../core/keyspace/records.js';
import { isPinned } from '../core/keyspace/shardValue.js';
import type { Logger } from '../core/log/logger.js';
import { plannerContext } from '../core/planner/context.js';
import { leaderStep, rebalanceStateAfter, type LeaderDecision } from '../core/planner/leaderStep.js';
import { shardWrite, type RebalanceState, type ShardWrite } from '../core/planner/plan.js';
import { Placement } from '../core/planner/placement.js';
import type { MemberSettings } from '../core/planner/settings.js';
import { findStuck, type FirstSeen, recordRepairs, trackFirstSeen } from '../core/planner/stuck.js';
import { checkValueSize } from '../core/keyspace/valueBounds.js';
import type { ClusterSnapshot, KvEvent } from '../core/snapshot/snapshot.js';
import { type EtcdClient, MAX_TXN_OPS, type TxnCompare, type TxnOp, type TxnResult } from '../edge/etcd/client.js';
import { type ShardChange, type ShardWriteReport, ShardWriter, type ShardWriterMetrics } from '../edge/etcd/shardWriter.js';
import { ClusterWatcher, type WatcherMetrics, type WatcherStatus } from '../edge/etcd/watcher.js';
import { BalancerStatusLog, decisionReason } from './balancerStatus.js';
import { Membership } from './membership.js';
import { ShardOwnership } from './ownership.js';
import { PassBackoff } from './passBackoff.js';
import { SerialRunner } from './serialRunner.js';
import type { ShardLock, ShardLockHandle } from './shardLock.js';
import { StabilityClock } from '../core/planner/sightings.js';

/** How long a migration without a record must have been seen before the leader backfills one (see repairRecords). */
const BACKFILL_AFTER_MS = 1000;
/** Spacing of leader passes that write nothing (see PassBackoff); at most the safety tick. */
const LEADER_BACKOFF_MS = { initial: 50, max: 1000 };

export type EvictionMode = { readonly kind: 'save' } | { readonly kind: 'fenced'; readonly fencedAt: number };

/** What the runtime needs from the node's objects: evict them when a shard leaves, refuse new ones on shutdown. */
export interface MemberObjects {
  evictShard(shardId: number, mode: EvictionMode): Promise<{ readonly failed: readonly unknown[] }>;
  evictAll(mode: EvictionMode): Promise<{ readonly failed: readonly unknown[] }>;
  refuseActivations(): void;
}

/** Lifecycle events for metrics; all optional and synchronous. */
export interface MemberMetrics {
  claimed?(shards: number, durationMs: number): void;
  released?(shards: number, durationMs: number): void;
  /** A migration this node completed by claiming, with its end-to-end duration and the previous owner. */
  migrationCompleted?(durationMs: number, from: string): void;
  decision?(outcome: string, reason: string): void;
  /** A stuck-shard recovery action, with the shard's target before it. */
  intervention?(kind: string, target: string): void;
  stuckDetected?(state: string): void;
  leader?(isLeader: boolean): void;
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
 * A cluster member: keeps the node registered, watches the cluster, elects a leader, and runs the shard lifecycle
 * (leader steps, then claim, evict, release) on every change and on a safety tick.
 */
export class ClusterMember {
  readonly keys: Keyspace;
  readonly watcher: ClusterWatcher;
  readonly membership: Membership;
  private readonly writer: ShardWriter;
  private readonly ownership: ShardOwnership;
  private readonly stability: StabilityClock;
  private readonly runner: SerialRunner;
  private readonly log: Logger;
  private readonly metrics: MemberMetrics;
  private objects: MemberObjects | null = null;
  private phase: MemberPhase = 'created';
  /** The revision of our own winning leader CAS: it counts only until the snapshot has caught up with it. */
  private wonLeaderRevision = 0;
  private rebalanceState: RebalanceState = 'idle';
  /** When this leader last moved shards to rebalance (the load strategy lets reports settle after it). */
  private lastMovesAt: number | null = null;
  private firstSeen: ReadonlyMap<number, FirstSeen> = new Map();
  private readonly status: BalancerStatusLog;
  private publishedStatus: BalancerStatusRecord | null = null;
  private lastDecision: LeaderDecision | null = null;
  /** Stuck episodes already logged: shard -> state/target, so each is logged once. */
  private readonly stuckLogged = new Map<number, string>();
  private wasLeader = false;
  private readonly leaderBackoff: PassBackoff;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: ClusterMemberOptions) {
    const { client, keys, settings, clock, logger, address } = options;
    this.keys = keys;
    this.log = logger.child({ component: 'member', node: address });
    this.metrics = options.metrics ?? {};
    this.watcher = new ClusterWatcher({
      client,
      keys,
      numShards: settings.numShards,
      clock,
      logger,
      metrics: this.metrics.watcher,
      ...(settings.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: settings.resyncIntervalMs }),
    });
    this.writer = new ShardWriter({ client, keys, logger, metrics: this.metrics.writer });
    this.membership = new Membership({
      client,
      keys: this.keys,
      address,
      ttlSeconds: settings.leaseTtlSeconds,
      fenceMarginMs: settings.fenceMarginMs,
      fencing: settings.fencing,
      clock,
      logger,
      onRegistered: () => this.runner.trigger(),
      onFenced: ({ since }) => this.onFenced(since),
    });
    this.ownership = new ShardOwnership(address);
    this.stability = new StabilityClock(clock.now());
    this.status = new BalancerStatusLog(address, settings.strategy);
    this.leaderBackoff = new PassBackoff(LEADER_BACKOFF_MS.initial, Math.min(LEADER_BACKOFF_MS.max, settings.shardCheckIntervalMs));
    this.runner = new SerialRunner(() => this.pass(), { intervalMs: settings.shardCheckIntervalMs, logger: this.log, name: 'lifecycle' });
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
    return this.isLeader() ? this.lastDecision : null;
  }

  /** Connects the node's objects (evicted when shards leave). Call before start(). */
  attachObjects(objects: MemberObjects): void {
    this.objects = objects;
  }

  /** Loads the cluster state, registers, and starts the lifecycle. Resolves once the node key exists. */
  async start(signal?: AbortSignal): Promise<void> {
    this.phase = 'starting';
    this.unsubscribe = this.watcher.subscribe((ev) => {
      if (ev.type !== 'snapshot') return;
      const stableSince = this.stability.since;
      this.stability.observe(ev.changes, this.options.clock.now());
      if (this.stability.since !== stableSince) this.leaderBackoff.reset();
      this.runner.trigger();
    });
    await this.watcher.start(signal ? { signal } : {});
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
    return this.ownership.servingEpoch(this.watcher.snapshot, shardId);
  }

  /** The epoch for fixed-node objects: this registration's revision, or null while fenced. */
  nodeEpoch(): number | null {
    const f = this.membership.fence.current;
    return f.kind === 'registered' ? f.registeredRevision : null;
  }

  isLeader(): boolean {
    return this.leaderRevision() !== null;
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
    if (targeted === 0 && snap.shards.some((e) => e === undefined || e.current === '')) reasons.push('no shards claimed yet');
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
      timedOut = !(await this.handOver(started));
    }
    await this.runner.stop();
    this.unsubscribe?.();
    const left = [...this.ownership.ids()];
    if (this.objects !== null) {
      const report = await this.objects.evictAll({ kind: 'save' });
      if (report.failed.length > 0) this.log.error('objects could not be saved on stop', { failed: report.failed.length });
    }
    await this.resign();
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
    this.dropLostShards();
    // Node steps first: a claim or release must not wait behind the leader's planning and record writes.
    await this.claim();
    await this.release();
    if (this.phase === 'running') {
      await this.elect();
      const leaderRevision = this.leaderRevision();
      if (this.wasLeader !== (leaderRevision !== null)) {
        this.wasLeader = leaderRevision !== null;
        this.metrics.leader?.(this.wasLeader);
        this.log.info(this.wasLeader ? 'became leader' : 'no longer leader');
        // A new term starts clean: no stale first sightings (upstream defect 14).
        this.firstSeen = new Map();
        this.rebalanceState = 'idle';
        this.lastMovesAt = null;
        this.leaderBackoff.reset();
      }
      if (leaderRevision !== null) await this.leaderTurn(leaderRevision);
    }
  }

  /** A leader pass unless the last ones wrote nothing and the next is not due yet (PassBackoff). */
  private async leaderTurn(leaderRevision: number): Promise<void> {
    const { clock } = this.options;
    const wait = this.leaderBackoff.waitMs(clock.monotonic());
    if (wait > 0) return this.runner.triggerIn(wait);
    const { writes, dueInMs } = await this.leaderPass(leaderRevision);
    this.leaderBackoff.passed(writes > 0, clock.monotonic(), dueInMs);
    // A decision that waits for a moment (stability, a pause, load reports settling) is looked at again right then.
    if (dueInMs !== null) this.runner.triggerIn(dueInMs);
  }

  /**
   * The leader key's ModRevision when this node leads, else null. The snapshot decides once it has caught up with our
   * own winning write; before that, the win itself. A win the snapshot has passed never counts again: the key may be
   * gone (a later leader resigned) while this node, fenced in between, lost the term long ago.
   */
  private leaderRevision(): number | null {
    const snap = this.watcher.snapshot;
    if (snap.revision < this.wonLeaderRevision) return this.wonLeaderRevision;
    return snap.leader?.address === this.address ? snap.leader.modRevision : null;
  }

  /** Upstream's CAS election (reference core 2.3): only when there is no alive leader. */
  private async elect(): Promise<void> {
    const snap = this.watcher.snapshot;
    const leader = snap.leader;
    if (leader !== null && (leader.address === this.address || snap.nodes.has(leader.address))) return;
    if (snap.revision < this.wonLeaderRevision) return; // our win is on its way through the watch
    if (!snap.nodes.has(this.address)) return;
    try {
      const res = await this.options.client.txn({
        compares: [{ key: this.keys.leader, modRevision: leader?.modRevision ?? 0 }],
        success: [{ type: 'put', key: this.keys.leader, value: this.address }],
        failureReads: [this.keys.leader],
      });
      if (res.succeeded) {
        this.wonLeaderRevision = res.revision;
        this.log.info('won the leader election', { revision: res.revision, previous: leader?.address ?? null });
      } else {
        this.healFromTxn([this.keys.leader], res);
      }
    } catch (err) {
      this.log.warn('leader election attempt failed', { err: describeError(err) });
    }
  }

  /** One leader step; returns how many keys it wrote, and in how long its decision wants another look (or null). */
  private async leaderPass(leaderRevision: number): Promise<{ writes: number; dueInMs: number | null }> {
    const { clock, settings } = { clock: this.options.clock, settings: this.options.settings };
    const now = clock.now();
    let snap = this.watcher.snapshot;
    this.firstSeen = trackFirstSeen(this.firstSeen, snap, now);
    const decision = leaderStep({
      snapshot: snap,
      settings: settings.planner,
      strategy: settings.strategy,
      now,
      stableSince: this.stability.since,
      rebalance: this.rebalanceState,
      firstSeen: this.firstSeen,
      self: this.address,
      lastMovesAt: this.lastMovesAt,
    });
    this.rebalanceState = rebalanceStateAfter(decision, this.rebalanceState);
    // Logged from the snapshot the decision saw, before its writes: a recovery can change a shard's state (clearing
    // a dead owner makes it target-unclaimed) before the watch delivers it, and the episode acted on must be logged.
    this.logStuck(snap, now);
    const guard = [{ key: this.keys.leader, modRevision: leaderRevision }];
    let moves: { shard: number; from: string; to: string }[] = [];
    let writes = 0;
    if (decision.step === 'reassign' || decision.step === 'rebalance') {
      const report = await this.writeShards(decision.writes, guard, now);
      moves = decision.writes.filter((_, i) => report?.results[i]?.status === 'written').map(toMove);
      writes = moves.length;
      if (decision.step === 'rebalance' && moves.length > 0) this.lastMovesAt = now;
      this.log.info(decision.text, { step: decision.step, planned: decision.writes.length, written: report?.written ?? 0 });
    } else if (decision.step === 'recover') {
      const recovered = await this.recover(decision, guard, now);
      moves = recovered.moves;
      writes = recovered.writes;
    }
    this.metrics.decision?.(decision.step === 'idle' ? 'skipped' : decision.step, decisionReason(decision));
    if (this.lastDecision === null || decisionReason(this.lastDecision) !== decisionReason(decision)) {
      this.log.info('balancer decision', { step: decision.step, reason: decisionReason(decision), text: decision.text });
    }
    this.lastDecision = decision;
    this.status.record(decision, now, moves, writes > 0);
    snap = this.watcher.snapshot;
    writes += await this.repairRecords(snap, guard, now);
    await this.publishStatus();
    const dueInMs = decision.step === 'idle' && decision.until !== null ? Math.max(0, decision.until - now) : null;
    return { writes, dueInMs };
  }

  private async recover(decision: Extract<LeaderDecision, { step: 'recover' }>, guard: TxnCompare[], now: number) {
    const writes: ShardWrite[] = [];
    let requests = 0;
    for (const action of decision.actions) {
      this.metrics.intervention?.(action.kind, this.watcher.snapshot.shards[action.shardId]?.target ?? '');
      this.log.error(`stuck shard recovery: ${action.text}`, { shard: action.shardId, action: action.kind });
      if (action.kind === 'request-release') {
        const key = this.keys.releaseRequest(action.shardId);
        try {
          const value = encodeRecord(action.record);
          checkValueSize(this.keys, key, value);
          const res = await this.options.client.txn({
            compares: [...guard, { key, modRevision: action.expectedModRevision }],
            success: [{ type: 'put', key, value }],
            failureReads: [...guard.map((g) => g.key), key],
          });
          if (res.succeeded) requests++;
          else this.healFromTxn([...guard.map((g) => g.key), key], res);
        } catch (err) {
          this.log.warn('could not write a release request', { shard: action.shardId, err: describeError(err) });
        }
      } else if (action.kind === 'retarget' || action.kind === 'clear-owner' || action.kind === 'cancel') {
        writes.push(action.write);
      }
    }
    const report = await this.writeShards(writes, guard, now);
    const moves = writes.filter((_, i) => report?.results[i]?.status === 'written').map(toMove);
    return { moves, writes: moves.length + requests };
  }

  /** Writes planned shard changes, keeping `<prefix>/migration/<id>` in step in the same transactions. */
  private async writeShards(writes: readonly ShardWrite[], guard: TxnCompare[], now: number) {
    if (writes.length === 0) return null;
    const snap = this.watcher.snapshot;
    const changes: ShardChange[] = writes.map((w) => ({
      shardId: w.shardId,
      expectedModRevision: w.expectedModRevision,
      value: w.after,
      alsoOps: this.migrationOps(snap, w, now),
    }));
    const report = await this.writer.write(changes, { guard });
    this.logWriteProblems(report, 'leader');
    this.healConflicts(report);
    return report;
  }

  /** The fresh values a lost shard CAS read go into the snapshot at once, so no pass repeats the stale write. */
  private healConflicts(report: ShardWriteReport): void {
    const events: KvEvent[] = [];
    let revision = 0;
    for (const r of report.results) {
      if (r.status !== 'conflict') continue;
      const key = this.keys.shard(r.shardId);
      const c = r.current;
      events.push(
        c === undefined
          ? { type: 'delete', key, modRevision: r.revision }
          : { type: 'put', kv: { key, value: c.raw, modRevision: c.modRevision, createRevision: c.modRevision, lease: '0' } },
      );
      revision = Math.max(revision, r.revision);
    }
    this.watcher.heal(events, revision);
  }

  /** The same for a lost record CAS whose failure branch read `keys`. */
  private healFromTxn(keys: readonly string[], res: TxnResult): void {
    if (res.succeeded) return;
    const events = keys.map((key): KvEvent => {
      const kv = res.reads.get(key);
      return kv === undefined ? { type: 'delete', key, modRevision: res.revision } : { type: 'put', kv };
    });
    this.watcher.heal(events, res.revision);
  }

  private migrationOps(snap: ClusterSnapshot, w: ShardWrite, now: number): TxnOp[] {
    const key = this.keys.migration(w.shardId);
    const { target, current } = w.after;
    if (target !== current && target !== '' && target !== w.before.target) {
      return [{ type: 'put', key, value: encodeRecord({ since: now, target, from: current }) }];
    }
    if (target === current && snap.migrations.has(w.shardId)) return [{ type: 'delete', key }];
    return [];
  }

  private logStuck(snap: ClusterSnapshot, now: number): void {
    const stuck = findStuck(snap, this.firstSeen, now, this.options.settings.planner.stuckTimeoutMs);
    const seen = new Set<number>();
    for (const s of stuck) {
      seen.add(s.shardId);
      const episode = `${s.state}/${s.target}/${s.current}`;
      if (this.stuckLogged.get(s.shardId) === episode) continue;
      this.stuckLogged.set(s.shardId, episode);
      this.metrics.stuckDetected?.(s.state);
      this.log.error('stuck migration', {
        shard: s.shardId,
        state: s.state,
        ageMs: s.ageMs,
        target: s.target,
        current: s.current,
        reason: s.reason,
      });
    }
    for (const id of this.stuckLogged.keys()) if (!seen.has(id)) this.stuckLogged.delete(id);
  }

  /**
   * Backfills migration records (moves written by upstream nodes or by hand) and deletes obsolete records, guarded.
   * A move that completes within moments needs no record: backfilling it would cost two writes (the record, then
   * its deletion) and a pass on every node, racing the move itself. So a record is backfilled only for a migration
   * seen for a while (dated from its first sighting), and only while the shard still holds the value it was seen
   * with, so no record is ever written for a migration that already ended.
   */
  private async repairRecords(snap: ClusterSnapshot, guard: TxnCompare[], now: number): Promise<number> {
    const repairs = recordRepairs(snap, this.firstSeen, now);
    const settleMs = Math.min(BACKFILL_AFTER_MS, this.options.settings.planner.stuckTimeoutMs / 4);
    const fits = (key: string, value: string): boolean => {
      try {
        checkValueSize(this.keys, key, value);
        return true;
      } catch (err) {
        this.log.warn('migration record not backfilled', { err: describeError(err) });
        return false;
      }
    };
    const ops: { compares: TxnCompare[]; op: TxnOp }[] = [
      ...repairs.backfill
        .filter((b) => now - b.record.since >= settleMs && fits(this.keys.migration(b.shardId), encodeRecord(b.record)))
        .map((b) => ({
          compares: [
            { key: this.keys.migration(b.shardId), modRevision: b.expectedModRevision },
            { key: this.keys.shard(b.shardId), modRevision: snap.shards[b.shardId]?.modRevision ?? 0 },
          ],
          op: { type: 'put' as const, key: this.keys.migration(b.shardId), value: encodeRecord(b.record) },
        })),
      ...repairs.obsoleteMigrations.map((m) => ({
        compares: [{ key: this.keys.migration(m.shardId), modRevision: m.modRevision }],
        op: { type: 'delete' as const, key: this.keys.migration(m.shardId) },
      })),
      ...repairs.obsoleteReleaseRequests.map((m) => ({
        compares: [{ key: this.keys.releaseRequest(m.shardId), modRevision: m.modRevision }],
        op: { type: 'delete' as const, key: this.keys.releaseRequest(m.shardId) },
      })),
    ];
    // Advisory records: one guarded batch per pass (within etcd's 128 compares) is enough; a lost compare is retried
    // on a later pass.
    const batch: typeof ops = [];
    let compares = guard.length;
    for (const o of ops) {
      if (compares + o.compares.length > MAX_TXN_OPS) break;
      batch.push(o);
      compares += o.compares.length;
    }
    if (batch.length === 0) return 0;
    const compared = [...guard, ...batch.flatMap((b) => b.compares)];
    try {
      const res = await this.options.client.txn({ compares: compared, success: batch.map((b) => b.op), failureReads: compared.map((c) => c.key) });
      if (res.succeeded) return batch.length;
      this.healFromTxn(compared.map((c) => c.key), res);
    } catch (err) {
      this.log.debug('record repair failed; retried on a later pass', { err: describeError(err) });
    }
    return 0;
  }

  private async publishStatus(): Promise<void> {
    const record = this.status.changedSince(this.publishedStatus);
    if (record === null) return;
    try {
      const value = encodeRecord(record);
      checkValueSize(this.keys, this.keys.balancerStatus, value);
      await this.membership.putLeased(this.keys.balancerStatus, value);
      this.publishedStatus = record;
    } catch (err) {
      // Too large cannot happen with the log's own bound, so it is worth a warning; etcd trouble is retried next pass.
      if (err instanceof ValueTooLargeError) this.log.warn('balancer status not published', { err: describeError(err) });
      else this.log.debug('could not publish the balancer status', { err: describeError(err) });
    }
  }

  /** Claims shards targeted here whose owner is gone, and re-claims (new epoch) own shards of an earlier term. */
  private async claim(): Promise<void> {
    const snap = this.watcher.snapshot;
    if (this.phase === 'stopping') return;
    const writes: ShardWrite[] = [];
    for (const e of snap.shards) {
      if (e === undefined || e.target !== this.address) continue;
      const ownerGone = e.current === '' || !snap.nodes.has(e.current);
      const reclaim = e.current === this.address && !this.ownership.has(e.id);
      if (ownerGone || reclaim) writes.push(shardWrite(snap, e.id, { current: this.address }));
    }
    if (writes.length === 0) return;
    const started = this.options.clock.monotonic();
    const lock = await this.lockShards(writes.map((w) => w.shardId), 'claim');
    if (lock === null) return;
    try {
      const changes: ShardChange[] = writes.map((w) => ({
        shardId: w.shardId,
        expectedModRevision: w.expectedModRevision,
        value: w.after,
        alsoOps: snap.migrations.has(w.shardId) ? [{ type: 'delete', key: this.keys.migration(w.shardId) }] : [],
      }));
      const report = await this.writer.write(changes);
      this.logWriteProblems(report, 'claim');
      this.healConflicts(report);
      const now = this.options.clock.now();
      for (const r of report.results) {
        if (r.status !== 'written') continue;
        this.ownership.claimed(r.shardId, r.modRevision);
        const record = snap.migrations.get(r.shardId);
        if (record !== undefined && record.target === this.address) {
          this.metrics.migrationCompleted?.(Math.max(0, now - record.since), record.from);
        }
      }
      if (report.written > 0) {
        this.metrics.claimed?.(report.written, this.options.clock.monotonic() - started);
        this.log.debug('claimed shards', { count: report.written });
      }
    } finally {
      lock.release();
    }
  }

  /** Evicts (saving) and releases shards targeted elsewhere; a shard whose objects cannot be saved is kept. */
  private async release(): Promise<void> {
    const snap = this.watcher.snapshot;
    const candidates: number[] = [];
    for (const e of snap.shards) {
      if (e !== undefined && e.current === this.address && e.target !== this.address && e.target !== '') candidates.push(e.id);
    }
    if (candidates.length === 0) return;
    const started = this.options.clock.monotonic();
    const lock = await this.lockShards(candidates, 'release');
    if (lock === null) return;
    try {
      const evicted = await this.evictShards(candidates);
      // Re-read: the eviction may have taken a while; release only what still needs it, with a fresh compare.
      const fresh = this.watcher.snapshot;
      const writes = evicted
        .filter((id) => {
          const e = fresh.shards[id];
          return e !== undefined && e.current === this.address && e.target !== this.address && e.target !== '';
        })
        .map((id) => shardWrite(fresh, id, { current: '' }));
      if (writes.length === 0) return;
      const report = await this.writer.write(writes.map((w) => ({ shardId: w.shardId, expectedModRevision: w.expectedModRevision, value: w.after })));
      this.logWriteProblems(report, 'release');
      this.healConflicts(report);
      for (const r of report.results) if (r.status === 'written') this.ownership.released(r.shardId);
      if (report.written > 0) {
        this.metrics.released?.(report.written, this.options.clock.monotonic() - started);
        this.log.debug('released shards', { count: report.written });
      }
    } finally {
      lock.release();
    }
  }

  private async evictShards(ids: readonly number[]): Promise<number[]> {
    const objects = this.objects;
    if (objects === null) return [...ids];
    const ok: number[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const report = await objects.evictShard(id, { kind: 'save' });
          if (report.failed.length === 0) ok.push(id);
          else this.log.error('shard kept: objects could not be saved', { shard: id, failed: report.failed.length });
        } catch (err) {
          this.log.error('shard kept: eviction failed', { shard: id, err: describeError(err) });
        }
      }),
    );
    return ok;
  }

  private async lockShards(ids: readonly number[], label: string): Promise<ShardLockHandle | null> {
    try {
      return await this.options.lock.acquireWriteMany(ids, { timeoutMs: this.options.settings.lockTimeoutMs, label });
    } catch (err) {
      this.log.warn(`${label}: could not lock shards; retried on a later pass`, { err: describeError(err), shards: ids.length });
      return null;
    }
  }

  /** Owned shards that someone else took (a forced release): stop serving them and drop their objects. */
  private dropLostShards(): void {
    const lost = this.ownership.lost(this.watcher.snapshot);
    for (const id of lost) {
      this.ownership.released(id);
      this.log.warn('shard taken over by a later write; dropping it', { shard: id });
      void this.objects?.evictShard(id, { kind: 'save' }).catch(() => undefined);
    }
  }

  private onFenced(since: number): void {
    this.ownership.clear();
    const { clock } = this.options;
    const fencedAt = clock.now() - (clock.monotonic() - since);
    void this.objects?.evictAll({ kind: 'fenced', fencedAt }).catch((err: unknown) => {
      this.log.error('dropping objects after fencing failed', { err: describeError(err) });
    });
  }

  /** Hands every unpinned shard targeted here to the other eligible nodes and waits until they are released. */
  private async handOver(started: number): Promise<boolean> {
    const { clock, settings } = this.options;
    const deadline = started + settings.shutdownTimeoutMs;
    try {
      await this.membership.putLeased(this.keys.nodeInfo(this.address), this.nodeInfoValue('stopping'));
    } catch (err) {
      this.log.warn('could not announce stopping', { err: describeError(err) });
    }
    await this.resign();
    while (clock.monotonic() < deadline) {
      const snap = this.watcher.snapshot;
      const ctx = plannerContext(snap);
      const placement = new Placement(ctx, snap, settings.planner.assignment);
      const writes: ShardWrite[] = [];
      for (const e of snap.shards) {
        const mine = e !== undefined && (e.target === this.address || (e.target === '' && e.current === this.address));
        if (!mine || isPinned(e)) continue;
        const to = placement.choose(e.id, this.address);
        if (to !== null) writes.push(shardWrite(snap, e.id, { target: to }));
      }
      if (ctx.eligible.every((n) => n === this.address)) {
        this.log.warn('no other eligible node to hand shards over to; keeping the assignments');
        return true;
      }
      if (writes.length > 0) await this.writeShards(writes, [], clock.now());
      await this.runner.runNow();
      const remaining = this.watcher.snapshot.shards.filter((e) => e?.current === this.address && !isPinned(e)).length;
      if (remaining === 0 && writes.length === 0) return true;
      if (remaining === 0) continue;
      await this.waitForChange(Math.min(250, Math.max(0, deadline - clock.monotonic())));
    }
    this.log.error('shutdown timeout: deregistering with shards left', {
      left: this.watcher.snapshot.shards.filter((e) => e?.current === this.address).map((e) => e!.id).slice(0, 50),
    });
    return false;
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

  /** Gives up leadership (CAS delete) so the others elect at once instead of waiting for the lease. */
  private async resign(): Promise<void> {
    const revision = this.leaderRevision();
    if (revision === null) return;
    this.wonLeaderRevision = 0;
    try {
      await this.options.client.txn({
        compares: [{ key: this.keys.leader, modRevision: revision }],
        success: [{ type: 'delete', key: this.keys.leader }],
      });
      this.log.info('resigned leadership');
    } catch (err) {
      this.log.warn('could not resign leadership', { err: describeError(err) });
    }
  }

  private nodeInfoValue(state: NodeInfoRecord['state']): string {
    return encodeRecord({ ...this.options.nodeInfo, state });
  }

  private logWriteProblems(report: ShardWriteReport, what: string): void {
    if (report.guardFailure !== null) {
      this.log.warn(`${what}: no longer leader; writes refused by etcd`, { err: report.guardFailure.message });
      this.wonLeaderRevision = 0;
    }
    if (report.failed > 0) {
      const first = report.results.find((r) => r.status === 'failed');
      this.log.warn(`${what}: shard writes failed`, { failed: report.failed, err: first?.status === 'failed' ? first.error.message : undefined });
    }
    if (report.conflicts > 0) this.log.debug(`${what}: shard writes lost a compare; retried with fresh values`, { conflicts: report.conflicts });
  }
}

function toMove(w: ShardWrite): { shard: number; from: string; to: string } {
  return { shard: w.shardId, from: w.before.target, to: w.after.target };
}
