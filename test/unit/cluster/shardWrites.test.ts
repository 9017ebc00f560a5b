import { describe, expect, it } from 'vitest';
import { leaderGuard } from '../../../src/cluster/leaderGuard.js';
import { MemberShardWrites } from '../../../src/cluster/shardWrites.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { shardWrite } from '../../../src/core/planner/plan.js';
import { NotFoundError } from '../../../src/core/errors.js';
import type { KvEvent } from '../../../src/core/snapshot/snapshot.js';
import type { MigrationRecordLease } from '../../../src/edge/etcd/migrationRecordLease.js';
import type { ShardChange, ShardWriteOptions, ShardWriteReport } from '../../../src/edge/etcd/shardWriter.js';
import { cluster, PREFIX, put } from '../core/planner/fixtures.js';
import { allWritten } from './writeReports.js';

const keys = new Keyspace(PREFIX);
const NOW = 1_700_000_000_000;

/** A ShardWriter that records its calls and answers with `answer`. */
function fakeWriter(answer: (changes: readonly ShardChange[]) => ShardWriteReport) {
  const calls: { changes: readonly ShardChange[]; options: ShardWriteOptions | undefined }[] = [];
  return {
    calls,
    write: async (changes: readonly ShardChange[], options?: ShardWriteOptions) => {
      calls.push({ changes, options });
      return answer(changes);
    },
  };
}

/** A record lease that hands out `id` (or fails when it is null) and remembers what was acquired and lost. */
function fakeLease(id: string | null) {
  const lease = {
    acquired: 0,
    lost: [] as string[],
    acquire: async (): Promise<string> => {
      lease.acquired++;
      if (id === null) throw new Error('etcd refused the lease');
      return id;
    },
    lose: (l: string): void => void lease.lost.push(l),
  };
  const source: MigrationRecordLease = { acquire: lease.acquire, lost: lease.lose };
  return { lease, source };
}

function setup(answer = (changes: readonly ShardChange[]): ShardWriteReport => allWritten(changes, 99), leaseId: string | null = '77') {
  const writer = fakeWriter(answer);
  const healed: { events: readonly KvEvent[]; revision: number }[] = [];
  const sink = new MemorySink();
  const { lease, source } = fakeLease(leaseId);
  const heal = { heal: (events: readonly KvEvent[], revision: number) => void healed.push({ events, revision }) };
  const writes = new MemberShardWrites(keys, writer, heal, source, createLogger(sink, 'debug'));
  return { writer, healed, sink, writes, lease };
}

describe('MemberShardWrites', () => {
  const nodes = ['a:1', 'b:1'];

  it('writes each shard with its migration-record op: a new target dates a record, a claim deletes it, a release keeps it', async () => {
    let snap = cluster({
      numShards: 4,
      nodes,
      shards: (id) => [{ target: 'a:1', current: 'a:1', flags: [] }, { target: 'b:1', current: '', flags: [] }, { target: 'b:1', current: 'a:1', flags: [] }][id],
    });
    snap = put(snap, 'migration/1', encodeRecord({ since: 5, target: 'b:1', from: '' }));
    snap = put(snap, 'migration/2', encodeRecord({ since: 5, target: 'b:1', from: 'a:1' }));
    const { writer, writes } = setup();
    const report = await writes.write(
      snap,
      [shardWrite(snap, 0, { target: 'b:1' }), shardWrite(snap, 1, { current: 'b:1' }), shardWrite(snap, 2, { current: '' })],
      { label: 'test', now: NOW },
    );
    expect(report?.written).toBe(3);
    expect(writer.calls).toHaveLength(1);
    expect(writer.calls[0]!.options).toEqual({});
    expect(writer.calls[0]!.changes.map((c) => c.alsoOps)).toEqual([
      [{ type: 'put', key: keys.migration(0), value: encodeRecord({ since: NOW, target: 'b:1', from: 'a:1' }), lease: '77' }],
      [{ type: 'delete', key: keys.migration(1) }],
      [],
    ]);
  });

  it('puts records under the lease the write names (the leader\'s), else under its own; none acquired for no record', async () => {
    const snap = cluster({ numShards: 2, nodes, shards: () => ({ target: 'a:1', current: 'a:1', flags: [] }) });
    const { writer, writes, lease } = setup();
    const leader = fakeLease('42');
    await writes.write(snap, [shardWrite(snap, 0, { target: 'b:1' })], { label: 'leader', now: NOW, recordLease: leader.source });
    expect(writer.calls[0]!.changes[0]!.alsoOps).toEqual([expect.objectContaining({ type: 'put', lease: '42' })]);
    expect([leader.lease.acquired, lease.acquired]).toEqual([1, 0]);
    // A release keeps the target: no record, no lease.
    await writes.write(snap, [shardWrite(snap, 1, { current: '' })], { label: 'release', now: NOW });
    expect(writer.calls[1]!.changes[0]!.alsoOps).toEqual([]);
    expect(lease.acquired).toBe(0);
  });

  it('writes the shards without their record puts when etcd grants no lease, so no record is ever unbounded', async () => {
    let snap = cluster({ numShards: 2, nodes, shards: (id) => [{ target: 'a:1', current: 'a:1', flags: [] }, { target: 'b:1', current: '', flags: [] }][id] });
    snap = put(snap, 'migration/1', encodeRecord({ since: 5, target: 'b:1', from: '' }));
    const { writer, writes, sink } = setup(undefined, null);
    const report = await writes.write(snap, [shardWrite(snap, 0, { target: 'b:1' }), shardWrite(snap, 1, { current: 'b:1' })], { label: 'test', now: NOW });
    expect(report?.written).toBe(2);
    expect(writer.calls[0]!.changes.map((c) => c.alsoOps)).toEqual([[], [{ type: 'delete', key: keys.migration(1) }]]);
    expect(sink.find((r) => r.msg === 'no lease for migration records: shards written without their records')).toBeDefined();
  });

  it('forgets a lease etcd no longer has, when a write under it fails for that', async () => {
    const snap = cluster({ numShards: 1, nodes, shards: () => ({ target: 'a:1', current: 'a:1', flags: [] }) });
    const gone = new NotFoundError('shard write txn: 5 NOT_FOUND: etcdserver: requested lease not found');
    const { writes, lease } = setup((changes) => ({
      results: changes.map((c) => ({ status: 'failed', shardId: c.shardId, error: gone })),
      written: 0,
      conflicts: 0,
      failed: changes.length,
      guardFailure: null,
      recorded: false,
    }));
    await writes.write(snap, [shardWrite(snap, 0, { target: 'b:1' })], { label: 'test', now: NOW });
    expect(lease.lost).toEqual(['77']);
  });

  it('adds the leader guard to every transaction, and writes nothing for no writes', async () => {
    const snap = cluster({ numShards: 2, nodes, shards: () => undefined });
    const { writer, writes } = setup();
    const guard = leaderGuard(keys, 42);
    await writes.write(snap, [shardWrite(snap, 0, { target: 'a:1' })], { label: 'leader', now: NOW, guard });
    expect(writer.calls[0]!.options).toEqual({ guard: [{ kind: 'leader-guard', key: `${PREFIX}/leader`, modRevision: 42 }] });
    expect(await writes.write(snap, [], { label: 'leader', now: NOW, guard })).toBeNull();
    expect(writer.calls).toHaveLength(1);
  });

  it('heals a lost compare into the snapshot at once, with the value the failure branch read', async () => {
    const snap = cluster({ numShards: 2, nodes, shards: () => ({ target: 'a:1', current: '', flags: [] }) });
    const { writes, healed, sink } = setup((changes) => ({
      results: [
        { status: 'conflict', shardId: changes[0]!.shardId, revision: 70, current: { ...snap.shards[0]!, current: 'b:1', raw: 'a:1,b:1', modRevision: 65 } },
        { status: 'conflict', shardId: changes[1]!.shardId, revision: 70, current: undefined },
      ],
      written: 0,
      conflicts: 2,
      failed: 0,
      guardFailure: null,
      recorded: false,
    }));
    await writes.write(snap, [shardWrite(snap, 0, { current: 'a:1' }), shardWrite(snap, 1, { current: 'a:1' })], { label: 'claim', now: NOW });
    expect(healed).toEqual([
      {
        revision: 70,
        events: [
          { type: 'put', kv: { key: keys.shard(0), value: 'a:1,b:1', modRevision: 65, createRevision: 65, lease: '0' } },
          { type: 'delete', key: keys.shard(1), modRevision: 70 },
        ],
      },
    ]);
    expect(sink.find((r) => r.msg === 'claim: shard writes lost a compare; retried with fresh values')).toMatchObject({ conflicts: 2 });
  });

  it('heals from a lost record CAS: keys it read are put, keys it did not find are deleted', () => {
    const { writes, healed } = setup();
    const kv = { key: keys.leader, value: 'b:1', modRevision: 8, createRevision: 8, lease: '0' };
    writes.healFromTxn([keys.leader, keys.releaseRequest(3)], { succeeded: false, revision: 9, reads: new Map([[keys.leader, kv]]) });
    writes.healFromTxn([keys.leader], { succeeded: true, revision: 10 });
    expect(healed).toEqual([
      {
        revision: 9,
        events: [
          { type: 'put', kv },
          { type: 'delete', key: keys.releaseRequest(3), modRevision: 9 },
        ],
      },
    ]);
  });
});
