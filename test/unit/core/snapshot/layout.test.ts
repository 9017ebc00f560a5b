import { describe, expect, it } from 'vitest';
import { encodeShardCount, type ShardCountRecord } from '../../../../src/core/keyspace/shardCount.js';
import { configuredCountProblem, layoutShardCount, placeInSnapshot, shardInLayout } from '../../../../src/core/snapshot/layout.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';
import { diffSnapshots } from '../../../../src/core/snapshot/diff.js';

let rev = 0;
const kv = (key: string, value: string): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease: '0' });
const record = (r: Partial<ShardCountRecord> & { count: number }): string => encodeShardCount({ transition: null, reshards: 0, ...r });
const splitting = (from: number): string =>
  record({ count: from, transition: { kind: 'split', from, to: from * 2, state: 'running', startedAt: 1, by: 't', id: 'x' } });
const put = (snap: ClusterSnapshot, key: string, value: string): ClusterSnapshot =>
  applyEvents(snap, [{ type: 'put', kv: kv(`/p/${key}`, value) }], rev).snapshot;
const del = (snap: ClusterSnapshot, key: string): ClusterSnapshot => {
  rev++;
  return applyEvents(snap, [{ type: 'delete', key: `/p/${key}`, modRevision: rev }], rev).snapshot;
};

describe('the shard layout of a snapshot', () => {
  it('takes the count from the record, read before the keys it governs', () => {
    // The record sorts after migration/ keys: it must still decide their range.
    const snap = buildSnapshot('/p', 8192, [kv('/p/migration/5', '{"since":1,"target":"a","from":"b"}'), kv('/p/shard-count', splitting(4))], rev);
    expect(snap.layout).toMatchObject({ count: 4, transition: { to: 8 }, source: 'record' });
    expect(snap.numShards).toBe(8);
    expect(snap.shards).toHaveLength(8);
    expect(snap.migrations.get(5)).toBeDefined();
  });

  it('without a record, the configured count holds', () => {
    const snap = buildSnapshot('/p', 16, [], rev);
    expect(snap.layout).toEqual({ count: 16, transition: null, reshards: 0, modRevision: 0, source: 'configured' });
  });

  it('grows the range when a split starts, reviving keys that were out of range', () => {
    let snap = buildSnapshot('/p', 8192, [kv('/p/shard-count', record({ count: 4 })), kv('/p/shard/5', 'a:1,a:1'), kv('/p/shard/1', 'a:1,a:1')], rev);
    expect(snap.numShards).toBe(4);
    expect(snap.malformed.get('/p/shard/5')?.reason).toMatch(/out of range/);
    const before = snap;
    snap = put(snap, 'shard-count', splitting(4));
    expect(snap.numShards).toBe(8);
    expect(snap.shards[5]).toMatchObject({ target: 'a:1' });
    expect(snap.malformed.size).toBe(0);
    expect(diffSnapshots(before, snap).map((c) => c.kind)).toEqual(expect.arrayContaining(['shard', 'shard-count', 'malformed']));
    expect(shardInLayout(snap, 5)).toBe(true);
    expect(shardInLayout(snap, 6)).toBe(false);
    expect(shardInLayout(snap, 3)).toBe(true);
    expect(layoutShardCount(snap)).toBe(5);
  });

  it('shrinks the range when a merge ends; strays beyond become malformed', () => {
    let snap = buildSnapshot('/p', 8192, [kv('/p/shard-count', record({ count: 8 })), kv('/p/shard/6', 'a:1,a:1'), kv('/p/release-request/7', '{"at":1,"by":"x","owner":"a:1"}')], rev);
    snap = put(snap, 'shard-count', record({ count: 8, transition: { kind: 'merge', from: 8, to: 4, state: 'running', startedAt: 1, by: 't', id: 'm' } }));
    expect(snap.numShards).toBe(8);
    snap = put(snap, 'shard-count', record({ count: 4, reshards: 1 }));
    expect(snap.numShards).toBe(4);
    expect(snap.shards).toHaveLength(4);
    expect(snap.releaseRequests.size).toBe(0);
    expect([...snap.malformed.keys()].sort()).toEqual(['/p/release-request/7', '/p/shard/6']);
  });

  it('keeps the last valid layout when the record turns malformed or is deleted', () => {
    let snap = buildSnapshot('/p', 8192, [kv('/p/shard-count', record({ count: 4 }))], rev);
    snap = put(snap, 'shard-count', '{"count":3}');
    expect(snap.layout.count).toBe(4);
    expect(snap.malformed.get('/p/shard-count')?.reason).toMatch(/power of two/);
    expect(configuredCountProblem(snap, { count: 4, explicit: null })?.message).toMatch(/\/p\/shard-count: malformed/);
    snap = del(snap, 'shard-count');
    expect(snap.layout).toMatchObject({ count: 4, source: 'configured', modRevision: 0 });
  });

  it('routes by the pair rule and checks an explicit count against the record', () => {
    let snap = buildSnapshot('/p', 8192, [kv('/p/shard-count', splitting(4)), kv('/p/shard/1', 'a:1,a:1')], rev);
    const id = 'shard#5/x';
    expect(placeInSnapshot(snap, id)).toEqual({ kind: 'shard', shardId: 1 });
    snap = put(snap, 'shard/5', 'a:1,a:1');
    expect(placeInSnapshot(snap, id)).toEqual({ kind: 'shard', shardId: 5 });
    expect(configuredCountProblem(snap, { count: 8192, explicit: null })).toBeNull();
    expect(configuredCountProblem(snap, { count: 8, explicit: 'flag --num-shards' })).toBeNull();
    expect(configuredCountProblem(snap, { count: 4, explicit: 'flag --num-shards' })).toBeNull();
    const err = configuredCountProblem(snap, { count: 64, explicit: 'env GOVERSE_NUM_SHARDS' });
    expect(err?.code).toBe('config');
    expect(err?.message).toBe(
      'env GOVERSE_NUM_SHARDS: 64 shards configured, but the cluster\'s record /p/shard-count says 4 (changing to 8): remove the explicit count (the record decides) or set it to 4',
    );
  });
});
