import { type Clock, systemClock } from '../../core/clock.js';
import type { ShardWriteRetry } from '../../core/config/shardWriteRetry.js';
import { describeError } from '../../core/errors.js';
import type { HistoryDraft } from '../../core/history/entry.js';
import { type HistoryActor, operationEntry } from '../../core/history/operationEntry.js';
import type { Keyspace } from '../../core/keyspace/keys.js';
import { type Logger, nullLogger } from '../../core/log/logger.js';
import type { OperationPlan, PlannedRecordChange, PlannedShardChange } from '../../core/operations/operations.js';
import { type ChangeResult, type OperationResult, ReadOnlyError } from '../../core/operations/result.js';
import type { EtcdClient, TxnOp } from '../etcd/client.js';
import { migrationRecordLeaseTtlSeconds } from '../../core/keyspace/migrationRecord.js';
import { PLACEMENT_SETTINGS } from '../../core/config/settings/placement.js';
import { ExpiringRecordLease, writeShardsWithRecords } from '../etcd/migrationRecordLease.js';
import { ShardWriter, type ShardWriterMetrics } from '../etcd/shardWriter.js';
import type { HistoryAppender } from '../history/historyLog.js';

export interface ClusterOperationsOptions {
  readonly client: EtcdClient;
  /** The cluster's key layout (its etcd prefix). */
  readonly keys: Keyspace;
  readonly readOnly?: boolean;
  /** The stuck timeout (default: the setting's default): the TTL of the lease the migration records are put under. */
  readonly stuckTimeoutMs?: number;
  /** How shard writes retry transient etcd failures (the GOVERSE_SHARD_WRITE_* settings); the writer's defaults otherwise. */
  readonly retry?: ShardWriteRetry;
  readonly logger?: Logger;
  readonly metrics?: ShardWriterMetrics;
  /** Where written operations are recorded, and as whom; every front end sets it. */
  readonly history?: { readonly log: HistoryAppender; readonly who: HistoryActor };
  readonly clock?: Clock;
}

/**
 * Executes operation plans (`planOperation`, src/core/operations) against etcd for the front ends (CLI, console,
 * admin API): every shard change is a CAS on its ModRevision, keeping flags, with its migration record in the same
 * transaction (under a lease of its own that runs out after the stuck timeout: nothing here renews it); a lost compare
 * is reported per change with the value found, never retried over someone's write.
 * What was written is recorded in the cluster history in the transaction of the operation's last write (its only
 * shard transaction, or its last record); when that cannot be (shard changes that take several transactions, a
 * last record that lost its compare), in a transaction of its own right after.
 */
export class ClusterOperations {
  private readonly writer: ShardWriter;
  private readonly keys: Keyspace;
  private readonly recordLease: ExpiringRecordLease;

  constructor(private readonly options: ClusterOperationsOptions) {
    this.keys = options.keys;
    const stuckTimeoutMs = options.stuckTimeoutMs ?? PLACEMENT_SETTINGS.stuckTimeout.default;
    this.recordLease = new ExpiringRecordLease(options.client, migrationRecordLeaseTtlSeconds(stuckTimeoutMs));
    this.writer = new ShardWriter({
      client: options.client,
      keys: options.keys,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
  }

  get readOnly(): boolean {
    return this.options.readOnly === true;
  }

  async execute(plan: OperationPlan, options: { dryRun?: boolean } = {}): Promise<OperationResult> {
    const dryRun = options.dryRun === true;
    if (this.readOnly && !dryRun) throw new ReadOnlyError(plan.operation);
    const changes = dryRun
      ? [...plan.shardChanges.map((c) => dryShard(c)), ...plan.recordChanges.map((c) => dryRecord(c))]
      : await this.write(plan);
    const result: OperationResult = {
      operation: plan.operation,
      summary: plan.summary,
      dryRun,
      changes,
      skipped: plan.skipped,
      conflicts: changes.filter((c) => c.outcome === 'conflict').length,
      failed: changes.filter((c) => c.outcome === 'failed').length,
    };
    if (!dryRun && changes.length > 0) {
      this.options.logger?.info(`operation ${plan.operation}`, {
        summary: plan.summary,
        written: changes.filter((c) => c.written).length,
        conflicts: result.conflicts,
        failed: result.failed,
      });
    }
    return result;
  }

  private async write(plan: OperationPlan): Promise<ChangeResult[]> {
    const written = { shards: new Set<number>(), records: new Set<number>() };
    let recorded = false;
    const history = this.options.history;
    const entryOps = (shards: ReadonlySet<number>, records: ReadonlySet<number>): TxnOp[] => {
      const entry = history === undefined ? null : this.entry(plan, shards, records);
      return entry === null ? [] : history!.log.ops([entry]);
    };
    const index = new Map(plan.shardChanges.map((c, i) => [c.shardId, i]));
    // With records to follow, the last record carries the entry; else the shard transaction, when there is one.
    const recordShards =
      history === undefined || plan.recordChanges.length > 0
        ? undefined
        : (ids: readonly number[]) => entryOps(new Set(ids.map((id) => index.get(id)!)), new Set());
    const { results: shardResults, recorded: shardsRecorded } = await this.writeShards(plan.shardChanges, recordShards);
    shardResults.forEach((r, i) => r.written && written.shards.add(i));
    recorded = shardsRecorded;
    const recordResults: ChangeResult[] = [];
    for (const [i, c] of plan.recordChanges.entries()) {
      const last = i === plan.recordChanges.length - 1;
      const alsoOps = last ? entryOps(written.shards, new Set([...written.records, i])) : [];
      const r = await this.writeRecord(c, alsoOps);
      recordResults.push(r);
      if (r.written) written.records.add(i);
      if (r.written && alsoOps.length > 0) recorded = true;
    }
    if (history !== undefined && written.shards.size + written.records.size > 0) {
      const entry = recorded ? null : this.entry(plan, written.shards, written.records);
      if (entry !== null) await history.log.append([entry]);
      await history.log.trim();
    }
    return [...shardResults, ...recordResults];
  }

  private entry(plan: OperationPlan, shards: ReadonlySet<number>, records: ReadonlySet<number>): HistoryDraft | null {
    const h = this.options.history;
    return h === undefined ? null : operationEntry(plan, { shards, records }, h.who, (this.options.clock ?? systemClock).now());
  }

  private async writeShards(
    changes: readonly PlannedShardChange[],
    recordOps: ((shardIds: readonly number[]) => readonly TxnOp[]) | undefined,
  ): Promise<{ results: ChangeResult[]; recorded: boolean }> {
    if (changes.length === 0) return { results: [], recorded: false };
    const report = await writeShardsWithRecords(
      this.writer,
      this.keys,
      changes.map((c) => ({ shardId: c.shardId, expectedModRevision: c.expectedModRevision, value: c.after, record: c.migration })),
      this.recordLease,
      this.options.logger ?? nullLogger,
      recordOps === undefined ? {} : { recordOps },
    );
    const results = changes.map((c, i): ChangeResult => {
      const r = report.results[i]!;
      const base = { id: c.shardId, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision };
      switch (r.status) {
        case 'written':
          return { ...base, written: true, outcome: 'written' };
        case 'conflict':
          return { ...base, written: false, outcome: 'conflict', found: r.current?.raw ?? null };
        case 'failed':
          return { ...base, written: false, outcome: 'failed', error: describeError(r.error) };
      }
    });
    return { results, recorded: report.recorded };
  }

  private async writeRecord(c: PlannedRecordChange, alsoOps: readonly TxnOp[]): Promise<ChangeResult> {
    const { client } = this.options;
    const base = { id: c.id, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision };
    try {
      const lease = c.new !== null && c.leaseTtlSeconds !== undefined ? (await client.grantLease(c.leaseTtlSeconds)).id : undefined;
      const op: TxnOp =
        c.new === null ? { type: 'delete', key: c.key } : { type: 'put', key: c.key, value: c.new, ...(lease ? { lease } : {}) };
      const res = await client.txn({ compares: [{ key: c.key, modRevision: c.expectedModRevision }], success: [op, ...alsoOps], failureReads: [c.key] });
      if (res.succeeded) return { ...base, written: true, outcome: 'written' };
      if (lease !== undefined) await client.revokeLease(lease).catch(() => undefined);
      return { ...base, written: false, outcome: 'conflict', found: res.reads.get(c.key)?.value ?? null };
    } catch (err) {
      return { ...base, written: false, outcome: 'failed', error: describeError(err) };
    }
  }
}

function dryShard(c: PlannedShardChange): ChangeResult {
  return { id: c.shardId, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision, written: false, outcome: 'dry-run' };
}

function dryRecord(c: PlannedRecordChange): ChangeResult {
  return { id: c.id, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision, written: false, outcome: 'dry-run' };
}
