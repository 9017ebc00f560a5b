/**
 * The leases migration records are put under, and shard writes that carry their records (see migrationRecordOp,
 * core/keyspace/migrationRecord.ts, for the rule): upstream nodes complete moves without deleting a record, so every
 * record lives under a lease whose TTL is its writer's stuck timeout, and none outlives its migration by more.
 */
import type { Keyspace } from '../../core/keyspace/keys.js';
import type { MigrationRecordOp } from '../../core/keyspace/migrationRecord.js';
import { encodeRecord } from '../../core/keyspace/records.js';
import type { ShardValue } from '../../core/keyspace/shardValue.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/log/logger.js';
import { type EtcdClient, isLeaseNotFound, LeaseNotFoundError, type TxnOp } from './client.js';
import type { ShardWriteOptions, ShardWriter, ShardWriteReport } from './shardWriter.js';

/** Where a writer's migration records get their lease. */
export interface MigrationRecordLease {
  /** The lease to put records under now. */
  acquire(): Promise<string>;
  /** A write under `lease` failed because etcd no longer has it: never hand it out again. */
  lost(lease: string): void;
}

/**
 * A fresh lease for each write, never renewed: the records of one write expire together, the TTL after it (the
 * writer's stuck timeout), unless a leader of ours adopts them first. goverse-top's and a non-leading node's.
 */
export class ExpiringRecordLease implements MigrationRecordLease {
  constructor(
    private readonly client: Pick<EtcdClient, 'grantLease'>,
    private readonly ttlSeconds: number,
  ) {}

  async acquire(): Promise<string> {
    return (await this.client.grantLease(this.ttlSeconds)).id;
  }

  lost(): void {
    // Each write has its own lease: nothing to forget.
  }
}

/**
 * One lease, granted at first use and renewed every TTL/3 until `release()`: a leader's while it leads. Released, it
 * is not revoked: its records stay for up to the TTL, long enough for the next leader of ours to adopt those of
 * migrations still in flight, and expire by themselves when no leader of ours follows.
 */
export class RenewedRecordLease implements MigrationRecordLease {
  private lease: string | null = null;
  private granting: Promise<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private renewal: Promise<void> | null = null;

  constructor(
    private readonly client: Pick<EtcdClient, 'grantLease' | 'keepAliveOnce'>,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {}

  /** The lease now, or null before the first `acquire()` (and after a release or a loss). */
  get current(): string | null {
    return this.lease;
  }

  acquire(): Promise<string> {
    if (this.lease !== null) return Promise.resolve(this.lease);
    this.granting ??= this.grant().finally(() => (this.granting = null));
    return this.granting;
  }

  lost(lease: string): void {
    if (this.lease !== lease) return;
    this.log.warn('the migration records lease is gone; the next records go under a new one', { lease });
    this.stopRenewing();
  }

  /** Stops renewing; waits for a renewal in flight. */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewal;
  }

  private async grant(): Promise<string> {
    const { id } = await this.client.grantLease(this.ttlSeconds);
    this.lease = id;
    this.schedule(id);
    return id;
  }

  private schedule(lease: string): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.renewal = this.renew(lease).finally(() => (this.renewal = null));
    }, (this.ttlSeconds * 1000) / 3);
    this.timer.unref?.();
  }

  private async renew(lease: string): Promise<void> {
    try {
      await this.client.keepAliveOnce(lease, { timeoutMs: (this.ttlSeconds * 1000) / 3 });
    } catch (err) {
      if (err instanceof LeaseNotFoundError) return this.lost(lease);
      // A transient failure: the lease lasts the whole TTL from the last renewal, so the next attempt has time.
      this.log.debug('could not renew the migration records lease; trying again', { err: describeError(err) });
    }
    if (this.lease === lease) this.schedule(lease);
  }

  private stopRenewing(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.lease = null;
  }
}

/** The etcd ops of a migration-record op, its put under `lease`; without a lease, no record is put. */
export function migrationRecordTxnOps(keys: Keyspace, shardId: number, op: MigrationRecordOp, lease: string | null): TxnOp[] {
  switch (op.kind) {
    case 'put':
      return lease === null ? [] : [{ type: 'put', key: keys.migration(shardId), value: encodeRecord(op.record), lease }];
    case 'delete':
      return [{ type: 'delete', key: keys.migration(shardId) }];
    case 'none':
      return [];
  }
}

/** A shard change and its migration-record op, committed together. */
export interface RecordedShardChange {
  readonly shardId: number;
  /** The ModRevision the caller last saw; 0 means the key must not exist. */
  readonly expectedModRevision: number;
  readonly value: ShardValue;
  readonly record: MigrationRecordOp;
}

/**
 * Writes shard changes, each with its migration-record op in the same transaction, the records' puts under one lease
 * from `leases` (acquired only when a record is put). When etcd grants no lease, the shards are written without
 * their record puts (a record is advisory; one without a lease could outlive its bound); deletes always go.
 */
export async function writeShardsWithRecords(
  writer: Pick<ShardWriter, 'write'>,
  keys: Keyspace,
  changes: readonly RecordedShardChange[],
  leases: MigrationRecordLease,
  log: Logger,
  options: ShardWriteOptions = {},
): Promise<ShardWriteReport> {
  let lease: string | null = null;
  if (changes.some((c) => c.record.kind === 'put')) {
    try {
      lease = await leases.acquire();
    } catch (err) {
      log.warn('no lease for migration records: shards written without their records', { err: describeError(err) });
    }
  }
  const report = await writer.write(
    changes.map((c) => ({
      shardId: c.shardId,
      expectedModRevision: c.expectedModRevision,
      value: c.value,
      alsoOps: migrationRecordTxnOps(keys, c.shardId, c.record, lease),
    })),
    options,
  );
  if (lease !== null && report.results.some((r) => r.status === 'failed' && isLeaseNotFound(r.error))) leases.lost(lease);
  return report;
}
