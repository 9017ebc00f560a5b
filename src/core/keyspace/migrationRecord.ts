import type { MigrationRecord } from './records.js';
import type { ShardValue } from './shardValue.js';

/**
 * What a shard write does to `<prefix>/migration/<id>` in the same transaction: the record dates a migration from
 * the write that started it, so stuck detection ages it from there and not from whenever a watcher first saw it.
 *
 * Every record is put under a lease whose TTL is its writer's stuck timeout (migrationRecordLeaseTtlSeconds), because
 * upstream nodes complete moves without ever deleting a record: a record outlives its migration by at most that
 * timeout whoever completes it. goverse-top and a node that does not lead put records under a lease of their own
 * that nobody renews; a leader of ours renews its lease while it leads, deletes the records of migrations that ended,
 * and adopts (re-puts under its lease, keeping `since`) the others' records of migrations still in flight.
 */
export type MigrationRecordOp =
  | { readonly kind: 'put'; readonly record: MigrationRecord }
  | { readonly kind: 'delete' }
  | { readonly kind: 'none' };

/**
 * The record op for a shard write from `before` to `after`, given the shard's record in the snapshot planned against
 * (undefined when there is none) and the time of the write (epoch ms):
 * - `put` {since: now, target, from: after's CurrentNode} when the write gives the shard a new, non-empty target that
 *   does not own it yet, and the shard has an owner before or after the write: a migration starts now (a record for an
 *   earlier target is overwritten). A shard nobody owns, before or after, is not migrating from anyone: its first
 *   assignment (a cold start's 8,192 shards) or a new target for an unclaimed one gets no record, so the write and the
 *   claim that ends it carry one op per shard instead of two (etcd's 128 ops per transaction) and no lease; the leader
 *   dates such a shard from its sighting and backfills a record only if the claim is late
 *   (migrationRecordBackfillAfterMs);
 * - `delete` when the shard ends settled (TargetNode == CurrentNode, both empty included) and a record exists;
 * - `none` otherwise: a write that keeps its target (pin, unpin, a claim of a shard still migrating, a cleared
 *   owner) leaves the record of the migration in flight alone, and the leader backfills missing records.
 */
export function migrationRecordOp(
  before: ShardValue,
  after: ShardValue,
  existing: MigrationRecord | undefined,
  now: number,
): MigrationRecordOp {
  const { target, current } = after;
  const owned = current !== '' || before.current !== '';
  if (owned && target !== current && target !== '' && target !== before.target) return { kind: 'put', record: { since: now, target, from: current } };
  if (target === current && existing !== undefined) return { kind: 'delete' };
  return { kind: 'none' };
}

/**
 * The TTL of the lease a migration record is put under, from its writer's stuck timeout: whole seconds (etcd's
 * granularity), rounded down so a record never outlives the timeout, and at least 1 s.
 */
export function migrationRecordLeaseTtlSeconds(stuckTimeoutMs: number): number {
  return Math.max(1, Math.floor(stuckTimeoutMs / 1000));
}

/**
 * How long a leader watches a migration before it adopts a record put under someone else's lease: a quarter of the
 * stuck timeout, well within the record's remaining life, and long after the moves that complete at once.
 */
export function migrationRecordAdoptAfterMs(stuckTimeoutMs: number): number {
  return stuckTimeoutMs / 4;
}

/**
 * How long the leader watches a migration without a record before it backfills one, dated from its first sighting:
 * moves that complete at once cost no record writes. A shard with an owner (`from`) gets its record after
 * min(1 s, a quarter of the stuck timeout); one nobody owns (a first assignment, or released and not yet claimed)
 * after a quarter of the stuck timeout, so the claims of a cold start never race backfills, and a claim that is that
 * late still gets a record that a one-shot `stuck` can date it by.
 */
export function migrationRecordBackfillAfterMs(from: string, stuckTimeoutMs: number): number {
  return from === '' ? migrationRecordAdoptAfterMs(stuckTimeoutMs) : Math.min(1000, stuckTimeoutMs / 4);
}
