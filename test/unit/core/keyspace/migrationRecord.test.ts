import { describe, expect, it } from 'vitest';
import {
  migrationRecordAdoptAfterMs,
  migrationRecordBackfillAfterMs,
  migrationRecordLeaseTtlSeconds,
  migrationRecordOp,
} from '../../../../src/core/keyspace/migrationRecord.js';
import type { MigrationRecord } from '../../../../src/core/keyspace/records.js';
import { parseShardValue } from '../../../../src/core/keyspace/shardValue.js';

const NOW = 1_000_000;
const record: MigrationRecord = { since: 5, target: 'b', from: 'a' };
const op = (before: string, after: string, existing?: MigrationRecord) =>
  migrationRecordOp(parseShardValue(before).value, parseShardValue(after).value, existing, NOW);

describe('migrationRecordOp', () => {
  it('puts a record dated now when a write gives the shard a new target that does not own it', () => {
    expect(op('a,a', 'b,a')).toEqual({ kind: 'put', record: { since: NOW, target: 'b', from: 'a' } });
    expect(op(',a', 'b,a')).toEqual({ kind: 'put', record: { since: NOW, target: 'b', from: 'a' } });
    // A hand-over releases in the write that retargets: the shard had an owner.
    expect(op('a,a', 'b,', record)).toEqual({ kind: 'put', record: { since: NOW, target: 'b', from: '' } });
    // A retarget of a shard in migration starts a new one: the record of the earlier target is replaced.
    expect(op('b,a', 'c,a', record)).toEqual({ kind: 'put', record: { since: NOW, target: 'c', from: 'a' } });
    expect(op('a,a,f=pinned', 'b,a,f=pinned', record)).toMatchObject({ kind: 'put' });
  });

  it('puts no record for a shard nobody owns, before or after: a first assignment migrates from no one', () => {
    expect(op(',', 'a,')).toEqual({ kind: 'none' });
    expect(op('', 'a,')).toEqual({ kind: 'none' });
    expect(op('a,', 'b,')).toEqual({ kind: 'none' });
    // Released by its owner, then retargeted: the record of the migration in flight (to b) is left to expire or to
    // be deleted when the shard settles; the new target is dated from its sighting.
    expect(op('b,', 'c,', record)).toEqual({ kind: 'none' });
    // Its claim ends settled: nothing to delete.
    expect(op('a,', 'a,a')).toEqual({ kind: 'none' });
  });

  it('deletes the record when the shard ends settled', () => {
    // A claim by the target, an owner adopted as target, a pin of a settled shard, both fields cleared.
    expect(op('b,a', 'b,b', record)).toEqual({ kind: 'delete' });
    expect(op(',a', 'a,a', record)).toEqual({ kind: 'delete' });
    expect(op('a,a', 'a,a,f=pinned', record)).toEqual({ kind: 'delete' });
    expect(op('a,a', ',', record)).toEqual({ kind: 'delete' });
  });

  it('writes nothing when there is no record to delete or the target stays', () => {
    expect(op('b,a', 'b,b')).toEqual({ kind: 'none' });
    expect(op('a,a', 'a,a,f=pinned')).toEqual({ kind: 'none' });
    // The migration in flight keeps its record: pin, a cleared owner, a forced release of a settled shard.
    expect(op('b,a', 'b,a,f=pinned', record)).toEqual({ kind: 'none' });
    expect(op('b,a', 'b,', record)).toEqual({ kind: 'none' });
    expect(op('a,a', 'a,')).toEqual({ kind: 'none' });
    // No target: nothing to date a migration towards.
    expect(op('a,b', ',b', record)).toEqual({ kind: 'none' });
  });
});

describe('the lease of a migration record', () => {
  it('lives at most the stuck timeout: whole seconds rounded down, at least one', () => {
    expect(migrationRecordLeaseTtlSeconds(60_000)).toBe(60);
    expect(migrationRecordLeaseTtlSeconds(45_999)).toBe(45);
    expect(migrationRecordLeaseTtlSeconds(1_000)).toBe(1);
    expect(migrationRecordLeaseTtlSeconds(400)).toBe(1);
    for (const ms of [1_000, 1_500, 15_000, 59_999, 3_600_000]) expect(migrationRecordLeaseTtlSeconds(ms) * 1000).toBeLessThanOrEqual(ms);
  });

  it('is adopted by a leader within its life: after a quarter of the stuck timeout', () => {
    expect(migrationRecordAdoptAfterMs(60_000)).toBe(15_000);
    for (const ms of [4_000, 60_000, 3_600_000]) expect(migrationRecordAdoptAfterMs(ms)).toBeLessThan(migrationRecordLeaseTtlSeconds(ms) * 1000);
  });
});

describe('backfilling a missing record', () => {
  it('waits min(1 s, a quarter of the stuck timeout) for a shard with an owner', () => {
    expect(migrationRecordBackfillAfterMs('a', 60_000)).toBe(1000);
    expect(migrationRecordBackfillAfterMs('a', 2_000)).toBe(500);
  });

  it('waits a quarter of the stuck timeout for a shard nobody owns, within a stuck verdict', () => {
    expect(migrationRecordBackfillAfterMs('', 60_000)).toBe(15_000);
    expect(migrationRecordBackfillAfterMs('', 2_000)).toBe(500);
    for (const ms of [1_000, 60_000, 3_600_000]) expect(migrationRecordBackfillAfterMs('', ms)).toBeLessThan(ms);
  });
});
