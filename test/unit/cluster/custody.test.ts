import { describe, expect, it } from 'vitest';
import { type CustodyContext, type EvictionMode, ShardCustody } from '../../../src/cluster/custody.js';
import type { PlannedWriteOptions } from '../../../src/cluster/shardWrites.js';
import type { ShardLockHandle } from '../../../src/cluster/shardLock.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import type { TxnRequest } from '../../../src/edge/etcd/client.js';
import type { ShardValue } from '../../../src/core/keyspace/shardValue.js';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { shardWrite, type ShardWrite } from '../../../src/core/planner/plan.js';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot/snapshot.js';
import { applyWrites, cluster, put, remove } from '../core/planner/fixtures.js';
import { settled, transition } from '../core/planner/reshardFixtures.js';
import { allWritten } from './writeReports.js';

const SELF = 'a:1';
const NOW = 1_700_000_000_000;

/** A custodian over a fake member: a snapshot set by the test, a recording lock, writes and objects. */
function custodyWorld(initial: ClusterSnapshot) {
  const sink = new MemorySink();
  const w = {
    snap: initial,
    sink,
    clock: { now: () => NOW, monotonic: () => 1000 },
    stopping: false,
    locks: [] as { ids: number[]; label: string | undefined }[],
    writes: [] as { writes: readonly ShardWrite[]; options: PlannedWriteOptions }[],
    evicted: [] as [number | 'all', EvictionMode][],
    unsaved: new Set<number>(),
    claimed: [] as number[],
    completed: [] as [number, string][],
    passes: 0,
    txns: [] as TxnRequest[],
    filters: new Map<number, (id: string) => boolean>(),
    /** Whether pair transactions win their compares. */
    txnWins: true,
    healed: [] as string[][],
    /** What a lifecycle pass of the other nodes does to the snapshot (hand-over tests). */
    onPass: (snap: ClusterSnapshot): ClusterSnapshot => snap,
  };
  const ctx: CustodyContext = {
    address: SELF,
    settings: { planner: defaultPlannerSettings(8), lockTimeoutMs: 1000 },
    clock: w.clock,
    log: createLogger(sink, 'debug'),
    metrics: {
      claimed: (n) => void w.claimed.push(n),
      migrationCompleted: (ms, from) => void w.completed.push([ms, from]),
    },
    lock: {
      acquireWriteMany: async (ids, options) => {
        w.locks.push({ ids: [...ids], label: options?.label });
        return { release: () => undefined } as ShardLockHandle;
      },
    },
    writes: {
      write: async (_snap, writes, options) => {
        if (writes.length === 0) return null;
        w.writes.push({ writes, options });
        // Written at the revision after the snapshot's, as etcd would commit it.
        return allWritten(writes, w.snap.revision + 1);
      },
      healFromTxn: () => undefined,
    },
    snapshot: () => w.snap,
    objects: () => ({
      evictShard: async (id, mode, only) => {
        w.evicted.push([id, mode]);
        if (only !== undefined) w.filters.set(id, only);
        return { failed: w.unsaved.has(id) ? ['object'] : [] };
      },
      evictAll: async (mode) => {
        w.evicted.push(['all', mode]);
        return { failed: [] };
      },
      refuseActivations: () => undefined,
    }),
    stopping: () => w.stopping,
    runPass: async () => {
      w.passes++;
      w.snap = w.onPass(w.snap);
    },
    waitForChange: async () => undefined,
    pairs: {
      keys: new Keyspace('/goverse'),
      log: createLogger(sink, 'debug'),
      writes: { healFromTxn: (keys) => void w.healed.push([...keys]) },
      txn: async (request) => {
        w.txns.push(request);
        return w.txnWins ? { succeeded: true, revision: w.snap.revision + 1 } : { succeeded: false, revision: w.snap.revision, reads: new Map() };
      },
      waitForRevision: async () => true,
    },
  };
  return { w, custody: new ShardCustody(ctx) };
}

const value = (target: string, current: string, flags: string[] = []): ShardValue => ({ target, current, flags });

describe('ShardCustody', () => {
  it('claims the shards targeted here whose owner is gone, each claim write its epoch', async () => {
    let snap = cluster({
      numShards: 5,
      nodes: [SELF, 'b:1'],
      shards: (id) => [value(SELF, ''), value(SELF, 'gone:1'), value(SELF, 'b:1'), value('b:1', ''), value(SELF, SELF)][id],
    });
    snap = put(snap, 'migration/1', encodeRecord({ since: NOW - 2500, target: SELF, from: 'gone:1' }));
    const { w, custody } = custodyWorld(snap);
    const epoch = snap.revision + 1;
    await custody.claim();
    // Shard 4 is this node's in etcd but not in this incarnation: it is claimed again for a new epoch.
    expect(w.locks).toEqual([{ ids: [0, 1, 4], label: 'claim' }]);
    expect(w.writes[0]!.writes.map((x) => [x.shardId, x.after.current])).toEqual([
      [0, SELF],
      [1, SELF],
      [4, SELF],
    ]);
    expect(w.writes[0]!.options).toEqual({ label: 'claim', now: NOW });
    expect(custody.owned()).toEqual([0, 1, 4]);
    expect(custody.servingEpoch(w.snap, 0)).toBe(epoch);
    expect(custody.servingEpoch(w.snap, 2)).toBeNull();
    expect(w.claimed).toEqual([3]);
    expect(w.completed).toEqual([[2500, 'gone:1']]);
    // A pass before the watch brings the claims back claims nothing again: each would only lose its compare.
    await custody.claim();
    expect(w.writes).toHaveLength(1);
  });

  it("folds its own claims into the leader's assignment: a shard targeted here whose owner is gone, under its lock", async () => {
    // 0: no target, no owner (a cold start); 1: its owner is gone; 2: owned by an alive node; 3: assigned elsewhere.
    const snap = cluster({
      numShards: 4,
      nodes: [SELF, 'b:1'],
      shards: (id) => [value('', ''), value('gone:1', 'gone:1'), value('b:1', 'b:1'), value('', '')][id],
    });
    const { w, custody } = custodyWorld(snap);
    const plan = [shardWrite(snap, 0, { target: SELF }), shardWrite(snap, 1, { target: SELF }), shardWrite(snap, 2, { target: SELF }), shardWrite(snap, 3, { target: 'b:1' })];
    const sent: ShardWrite[][] = [];
    const report = await custody.withOwnClaims(plan, async (writes) => {
      sent.push([...writes]);
      return allWritten(writes, snap.revision + 1);
    });
    expect(w.locks).toEqual([{ ids: [0, 1], label: 'claim' }]);
    expect(sent[0]!.map((x) => [x.shardId, x.after.target, x.after.current])).toEqual([
      [0, SELF, SELF],
      [1, SELF, SELF],
      [2, SELF, 'b:1'],
      [3, 'b:1', ''],
    ]);
    expect(report?.written).toBe(4);
    expect(custody.owned()).toEqual([0, 1]);
    expect(custody.servingEpoch(w.snap, 0)).toBe(snap.revision + 1);
    expect(w.claimed).toEqual([2]);
    // Only the shard of a dead owner was migrating from someone.
    expect(w.completed).toEqual([[0, 'gone:1']]);
    // The claim pass has nothing left to claim before the watch brings the writes back.
    w.snap = applyWrites(snap, sent[0]!.slice(0, 2), false);
    await custody.claim();
    expect(w.writes).toEqual([]);
  });

  it('claims nothing in an assignment once stopping, or when a shard is not written', async () => {
    const snap = cluster({ numShards: 2, nodes: [SELF], shards: () => value('', '') });
    const plan = [shardWrite(snap, 0, { target: SELF }), shardWrite(snap, 1, { target: SELF })];
    const { w, custody } = custodyWorld(snap);
    w.stopping = true;
    const sent: ShardWrite[][] = [];
    await custody.withOwnClaims(plan, async (writes) => {
      sent.push([...writes]);
      return null;
    });
    expect(sent[0]!.map((x) => x.after.current)).toEqual(['', '']);
    expect(w.locks).toEqual([]);

    w.stopping = false;
    await custody.withOwnClaims(plan, async (writes) => {
      const report = allWritten(writes, snap.revision + 1);
      return { ...report, results: [report.results[0]!, { status: 'conflict', shardId: 1, current: undefined, revision: snap.revision + 1 }] };
    });
    expect(custody.owned()).toEqual([0]);
  });

  it('claims nothing once the node is stopping', async () => {
    const { w, custody } = custodyWorld(cluster({ numShards: 2, nodes: [SELF], shards: () => value(SELF, '') }));
    w.stopping = true;
    await custody.claim();
    expect(w.locks).toEqual([]);
    expect(w.writes).toEqual([]);
  });

  it('releases the shards targeted elsewhere once their objects are saved, and keeps one that could not be saved', async () => {
    const snap = cluster({ numShards: 4, nodes: [SELF, 'b:1'], shards: (id) => [value('b:1', SELF), value('b:1', SELF), value(SELF, SELF), value('', SELF)][id] });
    const { w, custody } = custodyWorld(snap);
    w.unsaved.add(1);
    await custody.release();
    expect(w.locks).toEqual([{ ids: [0, 1], label: 'release' }]);
    expect(w.evicted).toEqual([
      [0, { kind: 'save' }],
      [1, { kind: 'save' }],
    ]);
    expect(w.writes.map((x) => x.writes.map((s) => [s.shardId, s.after.target, s.after.current]))).toEqual([[[0, 'b:1', '']]]);
    expect(w.sink.find((r) => r.msg === 'shard kept: objects could not be saved')).toMatchObject({ shard: 1 });
  });

  it('drops a shard a later write gave to someone else, and everything when fenced, dated at the fence', async () => {
    const { w, custody } = custodyWorld(cluster({ numShards: 3, nodes: [SELF, 'b:1'], shards: () => value(SELF, '') }));
    await custody.claim();
    expect(custody.owned()).toEqual([0, 1, 2]);
    w.snap = applyWrites(w.snap, w.writes[0]!.writes, false);
    custody.dropLost();
    expect(custody.owned()).toEqual([0, 1, 2]);
    w.snap = applyWrites(w.snap, [{ shardId: 0, expectedModRevision: w.snap.shards[0]!.modRevision, before: value(SELF, SELF), after: value('b:1', 'b:1') }], false);
    custody.dropLost();
    expect(custody.owned()).toEqual([1, 2]);
    expect(w.evicted).toEqual([[0, { kind: 'save' }]]);
    // Monotonic 1000 now, fenced at 400: the objects' end is dated 600 ms ago on the wall clock.
    custody.onFenced(400);
    expect(custody.owned()).toEqual([]);
    expect(w.evicted.at(-1)).toEqual(['all', { kind: 'fenced', fencedAt: NOW - 600 }]);
  });

  it('hands its unpinned shards over, releasing those whose objects it saved in the same write', async () => {
    const snap = cluster({
      numShards: 5,
      nodes: [SELF, 'b:1'],
      // 3 is pinned, 4 is on its way here (owned by b), 1's objects cannot be saved.
      shards: (id) => (id === 3 ? value(SELF, SELF, ['pinned']) : id === 4 ? value(SELF, 'b:1') : value(SELF, SELF)),
    });
    const { w, custody } = custodyWorld(snap);
    // Its own shards of an earlier term, claimed again: this node serves 0 to 3.
    await custody.claim();
    expect(custody.owned()).toEqual([0, 1, 2, 3]);
    w.writes = [];
    w.locks = [];
    w.unsaved.add(1);
    let applied = 0;
    w.onPass = (s) => applyWrites(s, w.writes.slice(applied, (applied = w.writes.length)).flatMap((x) => x.writes));
    expect(await custody.handOver(2000)).toBe(true);
    // Saved under the write locks of the shards it owns, before the write.
    expect(w.locks[0]).toEqual({ ids: [0, 1, 2], label: 'hand-over' });
    expect(w.evicted.slice(0, 3)).toEqual([0, 1, 2].map((id) => [id, { kind: 'save' }]));
    expect(w.writes[0]!.writes.map((x) => [x.shardId, `${x.after.target},${x.after.current}`])).toEqual([
      [0, 'b:1,'],
      [1, `b:1,${SELF}`],
      [2, 'b:1,'],
      [4, 'b:1,b:1'],
    ]);
    expect(w.writes[0]!.options).toEqual({ label: 'hand-over', now: NOW });
    // Released ones are no longer served here; 1 waits for the release pass, which saves its objects again first.
    expect(custody.owned()).toEqual([1, 3]);
  });

  it('keeps its assignments when no other node is eligible, and gives up at the deadline', async () => {
    const alone = custodyWorld(cluster({ numShards: 2, nodes: [SELF], shards: () => value(SELF, SELF) }));
    expect(await alone.custody.handOver(2000)).toBe(true);
    expect(alone.w.writes).toEqual([]);
    expect(alone.w.sink.find((r) => r.msg === 'no other eligible node to hand shards over to; keeping the assignments')).toBeDefined();

    const late = custodyWorld(cluster({ numShards: 2, nodes: [SELF, 'b:1'], shards: () => value(SELF, SELF) }));
    expect(await late.custody.handOver(1000)).toBe(false);
    expect(late.w.sink.find((r) => r.msg === 'shutdown timeout: deregistering with shards left')).toMatchObject({ left: [0, 1] });
  });

  it('splits the pairs it owns under both shards\' locks: evicts the half that moves, commits, claims the high shard', async () => {
    const snap = settled(cluster({ numShards: 4, nodes: [SELF, 'b:1'], shards: (id) => value(id === 3 ? 'b:1' : SELF, '') }), 4);
    const { w, custody } = custodyWorld(snap);
    await custody.claim();
    w.snap = transition(applyWrites(w.snap, w.writes[0]!.writes, false), 'split');
    const revision = w.snap.revision + 1;
    expect(await custody.reshard()).toBe(3);
    expect(w.locks.at(-1)).toEqual({ ids: [0, 4, 1, 5, 2, 6], label: 'reshard' });
    expect(w.evicted).toEqual([0, 1, 2].map((id) => [id, { kind: 'save' }]));
    expect([w.filters.get(0)!('shard#4/x'), w.filters.get(0)!('shard#0/x')]).toEqual([true, false]);
    const txn = w.txns.at(-1)!;
    expect(txn.compares.slice(0, 2)).toEqual([
      { key: '/goverse/shard/0', modRevision: w.snap.shards[0]!.modRevision },
      { key: '/goverse/shard/4', modRevision: 0 },
    ]);
    expect(txn.success.slice(0, 2)).toEqual([
      { type: 'put', key: '/goverse/shard/0', value: `${SELF},${SELF}` },
      { type: 'put', key: '/goverse/shard/4', value: `${SELF},${SELF}` },
    ]);
    // Served only from a snapshot that has the split: before it, neither shard of the pair.
    expect([custody.servingEpoch(w.snap, 0), custody.servingEpoch(w.snap, 4)]).toEqual([null, null]);
    const after = { ...w.snap, revision };
    expect(custody.servingEpoch(after, 4)).toBe(revision);
    expect(custody.servingEpoch(after, 0)).toBe(snap.revision + 1);
  });

  it('merges the pairs whose two shards it owns: evicts the high shard, a new epoch for the low one', async () => {
    let snap = settled(cluster({ numShards: 4, nodes: [SELF, 'b:1'], shards: (id) => value(id % 2 ? 'b:1' : SELF, '') }), 4, 1);
    snap = transition(snap, 'merge', 'running', 1);
    const { w, custody } = custodyWorld(snap);
    await custody.claim();
    w.snap = applyWrites(w.snap, w.writes[0]!.writes, false);
    const revision = w.snap.revision + 1;
    expect(await custody.reshard()).toBe(1);
    expect(w.evicted).toEqual([[2, { kind: 'save' }]]);
    expect(w.filters.size).toBe(0);
    expect(w.txns.at(-1)!.success.map((op) => `${op.type} ${op.key}`)).toEqual([
      'put /goverse/shard/0',
      'delete /goverse/shard/2',
      'delete /goverse/migration/2',
      'delete /goverse/release-request/2',
    ]);
    expect(custody.owned()).toEqual([0]);
    expect(custody.servingEpoch({ ...w.snap, revision }, 0)).toBe(revision);
  });

  it('keeps a pair whose objects could not all be saved, and adopts nothing when a pair transaction loses', async () => {
    const snap = settled(cluster({ numShards: 2, nodes: [SELF], shards: () => value(SELF, '') }), 2);
    const { w, custody } = custodyWorld(snap);
    await custody.claim();
    w.snap = transition(applyWrites(w.snap, w.writes[0]!.writes, false), 'split');
    w.unsaved.add(0);
    expect(await custody.reshard()).toBe(1);
    expect(w.txns.at(-1)!.compares.map((c) => c.key)).toEqual(['/goverse/shard/1', '/goverse/shard/3']);
    expect(w.sink.records.some((r) => r.msg === 'reshard: pair kept: objects could not be saved')).toBe(true);
    w.unsaved.clear();
    w.txnWins = false;
    const epoch = custody.servingEpoch(w.snap, 0);
    expect(await custody.reshard()).toBe(0);
    // Pair 1 was split at a revision this view has not reached: it is not served, so not planned again.
    expect(custody.servingEpoch(w.snap, 1)).toBeNull();
    expect(w.healed.at(-1)).toEqual(['/goverse/shard/0', '/goverse/shard/2']);
    // The lost pair changed nothing: its low shard is served as before, its high one not at all.
    expect(custody.servingEpoch(w.snap, 0)).toBe(epoch);
    expect(custody.servingEpoch(w.snap, 2)).toBeNull();
  });

  it('while a split aborts, merges back the pairs it split; does nothing outside a transition or while stopping', async () => {
    let snap = settled(cluster({ numShards: 4, nodes: [SELF], shards: () => value(SELF, '') }), 2);
    const { w, custody } = custodyWorld(snap);
    expect(await custody.reshard()).toBe(0);
    w.snap = snap = transition(snap, 'split');
    await custody.claim();
    snap = applyWrites(w.snap, w.writes[0]!.writes, false);
    // Pair 0 was split (shard 2 exists), pair 1 not (no shard 3): aborting, only pair 0 has something to undo.
    w.snap = transition(remove(snap, 'shard/3'), 'split', 'aborting');
    w.stopping = true;
    expect(await custody.reshard()).toBe(0);
    w.stopping = false;
    expect(await custody.reshard()).toBe(1);
    expect(w.txns.at(-1)!.success.map((op) => `${op.type} ${op.key}`)).toEqual([
      'put /goverse/shard/0',
      'delete /goverse/shard/2',
      'delete /goverse/migration/2',
      'delete /goverse/release-request/2',
    ]);
    expect(w.evicted.at(-1)).toEqual([2, { kind: 'save' }]);
  });
});
