import type { MigrationRecord } from './records.js';
import type { ShardValue } from './shardValue.js';

/**
 * What a shard write does to `<prefix>/migration/<id>` in the same transaction: the record dates a migration from
 * the write that started it, so stuck detection ages it from there and not from whenever a watcher first saw it.
 */
export type MigrationRecordOp =
  | { readonly kind: 'put'; readonly record: MigrationRecord }
  | { readonly kind: 'delete' }
  | { readonly kind: 'none' };

/**
 * The record op for a shard write from `before` to `after`, given the shard's record in the snapshot planned against
 * (undefined when there is none) and the time of the write (epoch ms):
 * - `put` {since: now, target, from: after's CurrentNode} when the write gives the shard a new, non-empty target that
 *   does not own it yet: a migration starts now (a record for an earlier target is overwritten);
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
  if (target !== current && target !== '' && target !== before.target) return { kind: 'put', record: { since: now, target, from: current } };
  if (target === current && existing !== undefined) return { kind: 'delete' };
  return { kind: 'none' };
}
