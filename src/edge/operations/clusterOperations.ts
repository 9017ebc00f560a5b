import type { ShardWriteRetry } from '../../core/config/shardWriteRetry.js';
import { describeError } from '../../core/errors.js';
import type { Keyspace } from '../../core/keyspace/keys.js';
import type { Logger } from '../../core/log/logger.js';
import type { OperationPlan, PlannedRecordChange, PlannedShardChange } from '../../core/operations/operations.js';
import { type ChangeResult, type OperationResult, ReadOnlyError } from '../../core/operations/result.js';
import type { EtcdClient, TxnOp } from '../etcd/client.js';
import { migrationRecordTxnOps, ShardWriter, type ShardWriterMetrics } from '../etcd/shardWriter.js';

export interface ClusterOperationsOptions {
  readonly client: EtcdClient;
  /** The cluster's key layout (its etcd prefix). */
  readonly keys: Keyspace;
  readonly readOnly?: boolean;
  /** How shard writes retry transient etcd failures (the GOVERSE_SHARD_WRITE_* settings); the writer's defaults otherwise. */
  readonly retry?: ShardWriteRetry;
  readonly logger?: Logger;
  readonly metrics?: ShardWriterMetrics;
}

/**
 * Executes operation plans (`planOperation`, src/core/operations) against etcd for the front ends (CLI, console,
 * admin API): every shard change is a CAS on its ModRevision, keeping flags, with its migration record in the same
 * transaction; a lost compare is reported per change with the value found, never retried over someone's write.
 */
export class ClusterOperations {
  private readonly writer: ShardWriter;
  private readonly keys: Keyspace;

  constructor(private readonly options: ClusterOperationsOptions) {
    this.keys = options.keys;
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
      : [...(await this.writeShards(plan.shardChanges)), ...(await this.writeRecords(plan.recordChanges))];
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

  private async writeShards(changes: readonly PlannedShardChange[]): Promise<ChangeResult[]> {
    if (changes.length === 0) return [];
    const report = await this.writer.write(
      changes.map((c) => ({
        shardId: c.shardId,
        expectedModRevision: c.expectedModRevision,
        value: c.after,
        alsoOps: migrationRecordTxnOps(this.keys, c.shardId, c.migration),
      })),
    );
    return changes.map((c, i): ChangeResult => {
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
  }

  private async writeRecords(changes: readonly PlannedRecordChange[]): Promise<ChangeResult[]> {
    const out: ChangeResult[] = [];
    for (const c of changes) out.push(await this.writeRecord(c));
    return out;
  }

  private async writeRecord(c: PlannedRecordChange): Promise<ChangeResult> {
    const { client } = this.options;
    const base = { id: c.id, key: c.key, old: c.old, new: c.new, modRevision: c.expectedModRevision };
    try {
      const lease = c.new !== null && c.leaseTtlSeconds !== undefined ? (await client.grantLease(c.leaseTtlSeconds)).id : undefined;
      const op: TxnOp =
        c.new === null ? { type: 'delete', key: c.key } : { type: 'put', key: c.key, value: c.new, ...(lease ? { lease } : {}) };
      const res = await client.txn({ compares: [{ key: c.key, modRevision: c.expectedModRevision }], success: [op], failureReads: [c.key] });
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
