import type { Clock } from '../core/clock.js';
import { describeError, ValueTooLargeError } from '../core/errors.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import { migrationRecordAdoptAfterMs, migrationRecordBackfillAfterMs } from '../core/keyspace/migrationRecord.js';
import { type BalancerDecisionRecord, type BalancerStatusRecord, encodeRecord } from '../core/keyspace/records.js';
import { checkValueSize } from '../core/keyspace/valueBounds.js';
import type { Logger } from '../core/log/logger.js';
import { leaderStep, rebalanceStateAfter, type LeaderDecision } from '../core/planner/leaderStep.js';
import type { RebalanceState, ShardWrite } from '../core/planner/plan.js';
import type { RecoveryAction } from '../core/planner/recovery.js';
import type { MemberSettings } from '../core/planner/settings.js';
import { findStuck, type FirstSeen, type RecordPut, recordRepairs, type StuckShard, trackFirstSeen } from '../core/planner/stuck.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import { isLeaseNotFound, MAX_TXN_OPS, type TxnCompare, type TxnOp, type TxnRequest, type TxnResult } from '../edge/etcd/client.js';
import type { RenewedRecordLease } from '../edge/etcd/migrationRecordLease.js';
import type { ShardWriteReport } from '../edge/etcd/shardWriter.js';
import type { HistoryAppender } from '../edge/history/historyLog.js';
import { BalancerStatusLog, decisionReason } from './balancerStatus.js';
import { LeaderHistory } from './leaderHistory.js';
import { type LeaderGuard, leaderGuard } from './leaderGuard.js';
import { PassBackoff } from './passBackoff.js';
import { historyJournal, LeaderReshard, type ReshardJournal } from './reshardLeader.js';
import type { ShardWrites } from './shardWrites.js';

/** Spacing of leader passes that write nothing (see PassBackoff); at most the safety tick. */
const LEADER_BACKOFF_MS = { initial: 50, max: 1000 };

/** The leader's events for metrics; all optional and synchronous. */
export interface LeaderMetrics {
  decision?(outcome: string, reason: string): void;
  /** A stuck-shard recovery action, with the shard's target before it. */
  intervention?(kind: string, target: string): void;
  stuckDetected?(state: string): void;
  leader?(isLeader: boolean): void;
}

/** What the leader role needs from its member, and no more. */
export interface LeaderContext {
  readonly address: string;
  readonly keys: Keyspace;
  readonly settings: Pick<MemberSettings, 'planner' | 'strategy' | 'shardCheckIntervalMs'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: LeaderMetrics;
  readonly writes: ShardWrites;
  /** The lease of the migration records it writes and adopts, renewed while it leads. */
  readonly recordLease: Pick<RenewedRecordLease, 'current' | 'acquire' | 'lost' | 'release'>;
  /** The latest cluster snapshot. */
  snapshot(): ClusterSnapshot;
  /** When the set of alive nodes last changed (the stability clock). */
  stableSince(): number;
  /** One etcd transaction: the election, release requests, record repairs, the resignation. */
  txn(request: TxnRequest): Promise<TxnResult>;
  /** Puts a key under the node's lease (the balancer status). */
  putLeased(key: string, value: string): Promise<void>;
  /** The cluster history, which records the leader's decisions (and what else a leader does, through `history`). */
  readonly history: HistoryAppender;
  /** Asks for another lifecycle pass in `ms`. */
  passIn(ms: number): void;
  /** Writes an assignment with this node's own claims folded in: a shard it gets whose owner is gone (ShardCustody). */
  withOwnClaims(writes: readonly ShardWrite[], write: (writes: readonly ShardWrite[]) => Promise<ShardWriteReport | null>): Promise<ShardWriteReport | null>;
  readonly journal: ReshardJournal; // the phases of shard-count transitions (also kept in the history)
}

/**
 * The leader role of a member: wins the election (upstream's CAS on `<prefix>/leader`), and while it leads plans and
 * writes under its guard (assignment, stuck recovery, rebalancing), repairs migration records, publishes the balancer
 * status and logs stuck migrations; passes that write nothing back off. Resigns on a graceful stop.
 */
export class LeaderRole {
  /** The revision of our own winning leader CAS: it counts only until the snapshot has caught up with it. */
  private wonRevision = 0;
  private wasLeader = false;
  private rebalanceState: RebalanceState = 'idle';
  /** When this leader last moved shards to rebalance (the load strategy lets reports settle after it). */
  private lastMovesAt: number | null = null;
  private firstSeen: ReadonlyMap<number, FirstSeen> = new Map();
  private readonly status: BalancerStatusLog;
  private publishedStatus: BalancerStatusRecord | null = null;
  private lastDecision: LeaderDecision | null = null;
  /** Stuck episodes already logged: shard -> state/target, so each is logged once. */
  private readonly stuckLogged = new Map<number, string>();
  private readonly backoff: PassBackoff;
  private readonly reshard: LeaderReshard;
  private readonly history: LeaderHistory;

  constructor(private readonly ctx: LeaderContext) {
    this.status = new BalancerStatusLog(ctx.address, ctx.settings.strategy);
    this.history = new LeaderHistory(ctx.history, ctx.address);
    this.reshard = new LeaderReshard({ ...ctx, journal: historyJournal(ctx.journal, this.history), stuckTimeoutMs: ctx.settings.planner.stuckTimeoutMs });
    this.backoff = new PassBackoff(LEADER_BACKOFF_MS.initial, Math.min(LEADER_BACKOFF_MS.max, ctx.settings.shardCheckIntervalMs));
  }

  /** The latest decision while this node leads, else null. */
  get decision(): LeaderDecision | null {
    return this.isLeader() ? this.lastDecision : null;
  }

  isLeader(): boolean {
    return this.revision() !== null;
  }

  /** The set of alive nodes changed: the next leader pass is due at once. */
  stabilityChanged(): void {
    this.backoff.reset();
  }

  /** Elects when there is no live leader; while this node leads, a leader pass unless backing off (PassBackoff). */
  async turn(): Promise<void> {
    await this.elect();
    const revision = this.revision();
    if (this.wasLeader !== (revision !== null)) await this.newTerm(revision !== null);
    if (revision === null) return;
    const { clock } = this.ctx;
    const wait = this.backoff.waitMs(clock.monotonic());
    if (wait > 0) return this.ctx.passIn(wait);
    const { writes, dueInMs } = await this.pass(leaderGuard(this.ctx.keys, revision));
    this.backoff.passed(writes > 0, clock.monotonic(), dueInMs);
    // A decision that waits for a moment (stability, a pause, load reports settling) is looked at again right then.
    if (dueInMs !== null) this.ctx.passIn(dueInMs);
  }

  /** Gives up leadership (CAS delete) so the others elect at once instead of waiting for the lease. */
  async resign(): Promise<void> {
    await this.ctx.recordLease.release();
    const revision = this.revision();
    if (revision === null) return;
    this.wonRevision = 0;
    const { keys, log } = this.ctx;
    try {
      await this.ctx.txn({ compares: [leaderGuard(keys, revision)], success: [{ type: 'delete', key: keys.leader }] });
      log.info('resigned leadership');
    } catch (err) {
      log.warn('could not resign leadership', { err: describeError(err) });
    }
  }

  /**
   * The leader key's ModRevision when this node leads, else null. The snapshot decides once it has caught up with our
   * own winning write; before that, the win itself. A win the snapshot has passed never counts again: the key may be
   * gone (a later leader resigned) while this node, fenced in between, lost the term long ago.
   */
  private revision(): number | null {
    const snap = this.ctx.snapshot();
    if (snap.revision < this.wonRevision) return this.wonRevision;
    return snap.leader?.address === this.ctx.address ? snap.leader.modRevision : null;
  }

  private async newTerm(leading: boolean): Promise<void> {
    this.wasLeader = leading;
    // Its records outlive the term by the lease's TTL at most: the next leader of ours adopts those still in flight.
    if (!leading) await this.ctx.recordLease.release();
    this.ctx.metrics.leader?.(leading);
    this.ctx.log.info(leading ? 'became leader' : 'no longer leader');
    // A new term starts clean: no stale first sightings (upstream defect 14).
    this.firstSeen = new Map();
    this.rebalanceState = 'idle';
    this.lastMovesAt = null;
    this.backoff.reset();
    this.reshard.reset();
    this.history.newTerm();
  }

  /** Upstream's CAS election: only when there is no alive leader. */
  private async elect(): Promise<void> {
    const { keys, address, log } = this.ctx;
    const snap = this.ctx.snapshot();
    const leader = snap.leader;
    if (leader !== null && (leader.address === address || snap.nodes.has(leader.address))) return;
    if (snap.revision < this.wonRevision) return; // our win is on its way through the watch
    if (!snap.nodes.has(address)) return;
    try {
      const res = await this.ctx.txn({
        compares: [leaderGuard(keys, leader?.modRevision ?? 0)],
        success: [{ type: 'put', key: keys.leader, value: address }],
        failureReads: [keys.leader],
      });
      if (res.succeeded) {
        this.wonRevision = res.revision;
        log.info('won the leader election', { revision: res.revision, previous: leader?.address ?? null });
      } else {
        this.ctx.writes.healFromTxn([keys.leader], res);
      }
    } catch (err) {
      log.warn('leader election attempt failed', { err: describeError(err) });
    }
  }

  /** One leader step; returns how many keys it wrote, and in how long its decision wants another look (or null). */
  private async pass(guard: LeaderGuard): Promise<{ writes: number; dueInMs: number | null }> {
    const { settings, log, metrics } = this.ctx;
    const now = this.ctx.clock.now();
    const snap = this.ctx.snapshot();
    this.firstSeen = trackFirstSeen(this.firstSeen, snap, now);
    const decision = leaderStep({
      snapshot: snap,
      settings: settings.planner,
      strategy: settings.strategy,
      now,
      stableSince: this.ctx.stableSince(),
      rebalance: this.rebalanceState,
      firstSeen: this.firstSeen,
      self: this.ctx.address,
      lastMovesAt: this.lastMovesAt,
    });
    this.rebalanceState = rebalanceStateAfter(decision, this.rebalanceState);
    // Logged from the snapshot the decision saw, before its writes: a recovery can change a shard's state (clearing
    // a dead owner makes it target-unclaimed) before the watch delivers it, and the episode acted on must be logged.
    const episodes = this.logStuck(snap, now);
    this.history.stuck(episodes.began, episodes.ended, now);
    this.reshard.observe(snap, now);
    let moves: Moves = [];
    let writes = 0;
    let recorded = false;
    if (decision.step === 'reassign' || decision.step === 'rebalance') {
      const recordOps = this.history.shardRecordOps(decision, decision.writes, now);
      const write = (writes: readonly ShardWrite[]): Promise<ShardWriteReport | null> => this.writeShards(writes, guard, now, recordOps);
      const report = decision.step === 'reassign' ? await this.ctx.withOwnClaims(decision.writes, write) : await write(decision.writes);
      const made = writtenOf(decision.writes, report);
      moves = movesOf(made);
      writes = moves.length;
      recorded = report?.recorded ?? false;
      this.history.decided(decision, made, [], decision.writes.length, recorded, now);
      if (decision.step === 'rebalance' && moves.length > 0) this.lastMovesAt = now;
      log.info(decision.text, { step: decision.step, planned: decision.writes.length, written: report?.written ?? 0 });
    } else if (decision.step === 'recover') {
      ({ moves, writes, recorded } = await this.recover(decision, guard, now));
    } else if (decision.step === 'reshard') {
      const done = await this.reshard.execute(snap, decision.plan, guard, now);
      [writes, moves] = [done.writes, movesOf(done.colocated)];
      this.history.decided(decision, done.colocated, done.pairs, decision.plan.colocate.length + decision.plan.pairs.length, false, now);
      log.info(decision.text, { step: decision.step, written: writes });
    } else {
      this.history.skipped(decision, now);
    }
    metrics.decision?.(decision.step === 'idle' ? 'skipped' : decision.step, decisionReason(decision));
    if (this.lastDecision === null || decisionReason(this.lastDecision) !== decisionReason(decision)) {
      log.info('balancer decision', { step: decision.step, reason: decisionReason(decision), text: decision.text });
    }
    this.lastDecision = decision;
    this.status.record(decision, now, moves, writes > 0);
    writes += await this.repairRecords(this.ctx.snapshot(), guard, now);
    await this.publishStatus();
    await this.history.flush(guard, recorded, this.ctx.clock.monotonic());
    const dueInMs = decision.step === 'idle' && decision.until !== null ? Math.max(0, decision.until - now) : null;
    return { writes, dueInMs };
  }

  private async recover(
    decision: Extract<LeaderDecision, { step: 'recover' }>,
    guard: LeaderGuard,
    now: number,
  ): Promise<{ moves: Moves; writes: number; recorded: boolean }> {
    const writes: ShardWrite[] = [];
    const requested: number[] = [];
    const asks = decision.actions.some((a) => a.kind === 'request-release');
    for (const action of decision.actions) {
      this.ctx.metrics.intervention?.(action.kind, this.ctx.snapshot().shards[action.shardId]?.target ?? '');
      this.ctx.log.error(`stuck shard recovery: ${action.text}`, { shard: action.shardId, action: action.kind });
      if (action.kind === 'request-release') {
        if (await this.requestRelease(action, guard)) requested.push(action.shardId);
      } else if (action.kind === 'retarget' || action.kind === 'clear-owner' || action.kind === 'cancel') {
        writes.push(action.write);
      }
    }
    // Release requests are written apart: then the entry cannot ride in the shard transaction.
    const report = await this.writeShards(writes, guard, now, asks ? undefined : this.history.shardRecordOps(decision, writes, now));
    const made = writtenOf(writes, report);
    const recorded = report?.recorded ?? false;
    this.history.decided(decision, made, requested, writes.length + decision.actions.filter((a) => a.kind === 'request-release').length, recorded, now);
    return { moves: movesOf(made), writes: made.length + requested.length, recorded };
  }

  /** Asks a live owner to release: puts `<prefix>/release-request/<id>`, guarded; true when written. */
  private async requestRelease(action: Extract<RecoveryAction, { kind: 'request-release' }>, guard: LeaderGuard): Promise<boolean> {
    const { keys } = this.ctx;
    const key = keys.releaseRequest(action.shardId);
    try {
      const value = encodeRecord(action.record);
      checkValueSize(keys, key, value);
      const res = await this.ctx.txn({
        compares: [guard, { key, modRevision: action.expectedModRevision }],
        success: [{ type: 'put', key, value }],
        failureReads: [guard.key, key],
      });
      if (res.succeeded) return true;
      this.ctx.writes.healFromTxn([guard.key, key], res);
    } catch (err) {
      this.ctx.log.warn('could not write a release request', { shard: action.shardId, err: describeError(err) });
    }
    return false;
  }

  /** Writes planned shard changes under the guard; a failed guard ends the term this node believed it had. */
  private async writeShards(
    writes: readonly ShardWrite[],
    guard: LeaderGuard,
    now: number,
    recordOps?: (shardIds: readonly number[]) => readonly TxnOp[],
  ): Promise<ShardWriteReport | null> {
    const report = await this.ctx.writes.write(this.ctx.snapshot(), writes, {
      label: 'leader',
      now,
      guard,
      recordLease: this.ctx.recordLease,
      ...(recordOps ? { recordOps } : {}),
    });
    if (report !== null && report.guardFailure !== null) this.wonRevision = 0;
    return report;
  }

  /** Logs each stuck episode once; returns the episodes that began and the shards whose episode ended. */
  private logStuck(snap: ClusterSnapshot, now: number): { began: StuckShard[]; ended: number[] } {
    const stuck = findStuck(snap, this.firstSeen, now, this.ctx.settings.planner.stuckTimeoutMs);
    const seen = new Set<number>();
    const began: StuckShard[] = [];
    for (const s of stuck) {
      seen.add(s.shardId);
      const episode = `${s.state}/${s.target}/${s.current}`;
      if (this.stuckLogged.get(s.shardId) === episode) continue;
      this.stuckLogged.set(s.shardId, episode);
      began.push(s);
      this.ctx.metrics.stuckDetected?.(s.state);
      this.ctx.log.error('stuck migration', {
        shard: s.shardId,
        state: s.state,
        ageMs: s.ageMs,
        target: s.target,
        current: s.current,
        reason: s.reason,
      });
    }
    const ended = [...this.stuckLogged.keys()].filter((id) => !seen.has(id));
    for (const id of ended) this.stuckLogged.delete(id);
    return { began, ended };
  }

  /**
   * Backfills migration records (moves written by upstream nodes or by hand), adopts the records of migrations in
   * flight that other writers put under their own leases, and deletes obsolete records, guarded. Advisory records:
   * one guarded batch per pass (within etcd's 128 compares) is enough; a lost compare is retried on a later pass.
   */
  private async repairRecords(snap: ClusterSnapshot, guard: LeaderGuard, now: number): Promise<number> {
    const batch: RecordRepair[] = [];
    let compares = 1;
    for (const o of await this.recordRepairOps(snap, now)) {
      if (compares + o.compares.length > MAX_TXN_OPS) break;
      batch.push(o);
      compares += o.compares.length;
    }
    if (batch.length === 0) return 0;
    const compared = [guard, ...batch.flatMap((b) => b.compares)];
    try {
      const res = await this.ctx.txn({ compares: compared, success: batch.map((b) => b.op), failureReads: compared.map((c) => c.key) });
      if (res.succeeded) return batch.length;
      this.ctx.writes.healFromTxn(compared.map((c) => c.key), res);
    } catch (err) {
      const lease = batch.map((b) => b.op).find((op) => op.type === 'put')?.lease;
      if (lease !== undefined && isLeaseNotFound(err)) this.ctx.recordLease.lost(lease);
      this.ctx.log.debug('record repair failed; retried on a later pass', { err: describeError(err) });
    }
    return 0;
  }

  /**
   * The record repairs due now, each a CAS. A move that completes within moments needs no record: backfilling it
   * would cost two writes (the record, then its deletion) and a pass on every node, racing the move itself. So a
   * record is backfilled only for a migration seen for a while (migrationRecordBackfillAfterMs, from its first
   * sighting), and only while the shard holds the value it was seen with: never for a migration that already ended.
   * Backfilled and adopted records go under the leader's lease; without one (etcd refused it), only deletions.
   */
  private async recordRepairOps(snap: ClusterSnapshot, now: number): Promise<RecordRepair[]> {
    const { keys, log, recordLease } = this.ctx;
    const { stuckTimeoutMs } = this.ctx.settings.planner;
    const repairs = recordRepairs(snap, this.firstSeen, now, { own: recordLease.current, adoptAfterMs: migrationRecordAdoptAfterMs(stuckTimeoutMs) });
    const fits = (key: string, value: string): boolean => {
      try {
        checkValueSize(keys, key, value);
        return true;
      } catch (err) {
        log.warn('migration record not backfilled', { err: describeError(err) });
        return false;
      }
    };
    const due = repairs.backfill.filter((b) => now - b.record.since >= migrationRecordBackfillAfterMs(b.record.from, stuckTimeoutMs));
    const puts = [...due, ...repairs.adopt].filter((p) => fits(keys.migration(p.shardId), encodeRecord(p.record)));
    const lease = puts.length === 0 ? null : await recordLease.acquire().catch((err: unknown) => {
      log.debug('no lease for migration records; records repaired on a later pass', { err: describeError(err) });
      return null;
    });
    return [
      ...(lease === null ? [] : puts.map((p) => this.recordPut(snap, p, lease))),
      ...repairs.obsoleteMigrations.map((m) => ({
        compares: [{ key: keys.migration(m.shardId), modRevision: m.modRevision }],
        op: { type: 'delete' as const, key: keys.migration(m.shardId) },
      })),
      ...repairs.obsoleteReleaseRequests.map((m) => ({
        compares: [{ key: keys.releaseRequest(m.shardId), modRevision: m.modRevision }],
        op: { type: 'delete' as const, key: keys.releaseRequest(m.shardId) },
      })),
    ];
  }

  /** A record put under `lease`, while the record and the shard still hold the values it was planned on. */
  private recordPut(snap: ClusterSnapshot, p: RecordPut, lease: string): RecordRepair {
    const { keys } = this.ctx;
    return {
      compares: [
        { key: keys.migration(p.shardId), modRevision: p.expectedModRevision },
        { key: keys.shard(p.shardId), modRevision: snap.shards[p.shardId]?.modRevision ?? 0 },
      ],
      op: { type: 'put', key: keys.migration(p.shardId), value: encodeRecord(p.record), lease },
    };
  }

  private async publishStatus(): Promise<void> {
    const record = this.status.changedSince(this.publishedStatus);
    if (record === null) return;
    const { keys, log } = this.ctx;
    try {
      const value = encodeRecord(record);
      checkValueSize(keys, keys.balancerStatus, value);
      await this.ctx.putLeased(keys.balancerStatus, value);
      this.publishedStatus = record;
    } catch (err) {
      // Too large cannot happen with the log's own bound, so it is worth a warning; etcd trouble is retried next pass.
      if (err instanceof ValueTooLargeError) log.warn('balancer status not published', { err: describeError(err) });
      else log.debug('could not publish the balancer status', { err: describeError(err) });
    }
  }
}

/** Shard moves as the balancer status lists them. */
type Moves = BalancerDecisionRecord['moves'];

/** One record repair: its compares and its op. */
interface RecordRepair {
  readonly compares: TxnCompare[];
  readonly op: TxnOp;
}

/** The planned writes that were written. */
function writtenOf(writes: readonly ShardWrite[], report: ShardWriteReport | null): ShardWrite[] {
  return writes.filter((_, i) => report?.results[i]?.status === 'written');
}

/** Shard moves as the balancer status lists them. */
function movesOf(writes: readonly ShardWrite[]): Moves {
  return writes.map((w) => ({ shard: w.shardId, from: w.before.target, to: w.after.target }));
}
