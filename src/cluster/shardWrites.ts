import { migrationRecordOp } from '../core/keyspace/migrationRecord.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import type { Logger } from '../core/log/logger.js';
import type { ShardWrite } from '../core/planner/plan.js';
import type { ClusterSnapshot, KvEvent } from '../core/snapshot/snapshot.js';
import type { TxnResult } from '../edge/etcd/client.js';
import { type MigrationRecordLease, writeShardsWithRecords } from '../edge/etcd/migrationRecordLease.js';
import type { ShardWriteOptions, ShardWriteReport, ShardWriter } from '../edge/etcd/shardWriter.js';
import type { ClusterWatcher } from '../edge/etcd/watcher.js';
import type { LeaderGuard } from './leaderGuard.js';

export interface PlannedWriteOptions {
  /** Names the writer in log lines (`claim`, `release`, `leader`, `hand-over`). */
  readonly label: string;
  /** When the writes happen (epoch ms): the date of a migration record they start. */
  readonly now: number;
  /** The leader's writes carry its guard; a failed guard leaves them unwritten (`report.guardFailure`). */
  readonly guard?: LeaderGuard;
  /** Ops recording the writes (a history entry), in their transaction when it is one (ShardWriteOptions.recordOps). */
  readonly recordOps?: ShardWriteOptions['recordOps'];
  /** The lease the migration records go under: the leader's own; by default the writes' own, which nobody renews. */
  readonly recordLease?: MigrationRecordLease;
}

/**
 * The write path both roles of a member share. Every write is a watch event that triggers a pass on every node, so a
 * lost CAS must not be repeated on stale values: the fresh values its failure branch read go into the snapshot at once.
 */
export interface ShardWrites {
  /**
   * Writes shard changes planned against `snap`, each with its `<prefix>/migration/<id>` op (`migrationRecordOp`) in
   * the same transaction, a put under a lease (`recordLease`); logs problems and heals lost compares. Null when there
   * is nothing to write.
   */
  write(snap: ClusterSnapshot, writes: readonly ShardWrite[], options: PlannedWriteOptions): Promise<ShardWriteReport | null>;
  /** Heals the snapshot from a lost record CAS whose failure branch read `keys`. */
  healFromTxn(keys: readonly string[], res: TxnResult): void;
}

/** ShardWrites through a ShardWriter, healing the member's watcher. */
export class MemberShardWrites implements ShardWrites {
  constructor(
    private readonly keys: Keyspace,
    private readonly writer: Pick<ShardWriter, 'write'>,
    private readonly watcher: Pick<ClusterWatcher, 'heal'>,
    /** The lease of records written without a `recordLease`: one per write, expiring after the stuck timeout. */
    private readonly recordLease: MigrationRecordLease,
    private readonly log: Logger,
  ) {}

  async write(snap: ClusterSnapshot, writes: readonly ShardWrite[], options: PlannedWriteOptions): Promise<ShardWriteReport | null> {
    if (writes.length === 0) return null;
    const changes = writes.map((w) => ({
      shardId: w.shardId,
      expectedModRevision: w.expectedModRevision,
      value: w.after,
      record: migrationRecordOp(w.before, w.after, snap.migrations.get(w.shardId), options.now),
    }));
    const leases = options.recordLease ?? this.recordLease;
    const report = await writeShardsWithRecords(this.writer, this.keys, changes, leases, this.log, {
      ...(options.guard === undefined ? {} : { guard: [options.guard] }),
      ...(options.recordOps === undefined ? {} : { recordOps: options.recordOps }),
    });
    this.logProblems(report, options.label);
    this.healConflicts(report);
    return report;
  }

  healFromTxn(keys: readonly string[], res: TxnResult): void {
    if (res.succeeded) return;
    const events = keys.map((key): KvEvent => {
      const kv = res.reads.get(key);
      return kv === undefined ? { type: 'delete', key, modRevision: res.revision } : { type: 'put', kv };
    });
    this.watcher.heal(events, res.revision);
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

  private logProblems(report: ShardWriteReport, label: string): void {
    if (report.guardFailure !== null) {
      this.log.warn(`${label}: no longer leader; writes refused by etcd`, { err: report.guardFailure.message });
    }
    if (report.failed > 0) {
      const first = report.results.find((r) => r.status === 'failed');
      this.log.warn(`${label}: shard writes failed`, { failed: report.failed, err: first?.status === 'failed' ? first.error.message : undefined });
    }
    if (report.conflicts > 0) this.log.debug(`${label}: shard writes lost a compare; retried with fresh values`, { conflicts: report.conflicts });
  }
}
