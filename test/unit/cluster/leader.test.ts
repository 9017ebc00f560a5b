import { describe, expect, it } from 'vitest';
import type { ReshardPhaseEvent } from '../../../src/cluster/reshardLeader.js';
import { type LeaderContext, LeaderRole } from '../../../src/cluster/leader.js';
import { leaderGuard } from '../../../src/cluster/leaderGuard.js';
import type { PlannedWriteOptions } from '../../../src/cluster/shardWrites.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { NotFoundError } from '../../../src/core/errors.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { encodeShardCount } from '../../../src/core/keyspace/shardCount.js';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import type { ShardWrite } from '../../../src/core/planner/plan.js';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot/snapshot.js';
import type { TxnCompare, TxnRequest, TxnResult } from '../../../src/edge/etcd/client.js';
import { DEFAULT_HISTORY_BOUNDS } from '../../../src/core/history/bounds.js';
import type { HistoryDraft } from '../../../src/core/history/entry.js';
import { GuardFailedError, type ShardWriteReport } from '../../../src/edge/etcd/shardWriter.js';
import { cluster, PREFIX, put, roundRobinValue } from '../core/planner/fixtures.js';
import { followers, settled as settledCount, transition } from '../core/planner/reshardFixtures.js';
import { allWritten } from './writeReports.js';

const keys = new Keyspace(PREFIX);
const SELF = 'a:1';
const NODES = [SELF, 'b:1'];
const NUM_SHARDS = 8;
const NOW = 1_700_000_000_000;

const written = (writes: readonly ShardWrite[]): ShardWriteReport => allWritten(writes, 500);

/** A leader role over a fake member: a snapshot set by the test, recorded transactions, writes and leased puts. */
function leaderWorld(initial: ClusterSnapshot) {
  const sink = new MemorySink();
  const w = {
    snap: initial,
    sink,
    clock: { wall: NOW, mono: 0, now: () => w.clock.wall, monotonic: () => w.clock.mono },
    txns: [] as TxnRequest[],
    answer: (_req: TxnRequest): TxnResult => ({ succeeded: true, revision: w.snap.revision + 100 }),
    writes: [] as { writes: readonly ShardWrite[]; options: PlannedWriteOptions }[],
    report: written,
    healed: [] as string[][],
    leased: [] as [string, string][],
    passIns: [] as number[],
    /** Shard writes that went through the custodian's own-claims hook. */
    ownClaims: [] as number[][],
    decisions: [] as string[],
    stuck: [] as string[],
    terms: [] as boolean[],
    phases: [] as ReshardPhaseEvent[],
    /** History drafts handed out as ops for a shard transaction, and appended on their own (with the compares). */
    recordedDrafts: [] as HistoryDraft[],
    appended: [] as { drafts: readonly HistoryDraft[]; compares: readonly TxnCompare[] }[],
    trims: 0,
    /** The record lease: the ID it holds now, and what happened to it. */
    lease: { current: null as string | null, grants: 0, released: 0, lost: [] as string[] },
  };
  const ctx: LeaderContext = {
    address: SELF,
    keys,
    settings: { planner: { ...defaultPlannerSettings(NUM_SHARDS), stabilityMs: 0 }, strategy: 'count', shardCheckIntervalMs: 1000 },
    clock: w.clock,
    log: createLogger(sink, 'debug'),
    metrics: {
      decision: (outcome) => w.decisions.push(outcome),
      stuckDetected: (state) => w.stuck.push(state),
      leader: (leading) => w.terms.push(leading),
    },
    writes: {
      write: async (_snap, writes, options) => {
        if (writes.length === 0) return null;
        w.writes.push({ writes, options });
        return w.report(writes);
      },
      healFromTxn: (keysRead) => void w.healed.push([...keysRead]),
    },
    recordLease: {
      get current() {
        return w.lease.current;
      },
      acquire: async () => (w.lease.current ??= `L${++w.lease.grants}`),
      lost: (lease) => {
        w.lease.lost.push(lease);
        w.lease.current = null;
      },
      release: async () => {
        w.lease.released++;
        w.lease.current = null;
      },
    },
    snapshot: () => w.snap,
    stableSince: () => 0,
    txn: async (request) => {
      w.txns.push(request);
      return w.answer(request);
    },
    putLeased: async (key, value) => void w.leased.push([key, value]),
    passIn: (ms) => void w.passIns.push(ms),
    withOwnClaims: (writes, write) => {
      w.ownClaims.push(writes.map((x) => x.shardId));
      return write(writes);
    },
    journal: { phase: (e) => void w.phases.push(e) },
    history: {
      bounds: DEFAULT_HISTORY_BOUNDS,
      ops: (drafts) => {
        w.recordedDrafts.push(...drafts);
        return [{ type: 'put', key: `${keys.historyRoot}x`, value: '' }];
      },
      append: async (drafts, compares = []) => {
        w.appended.push({ drafts, compares });
        return true;
      },
      trim: async () => void w.trims++,
    },
  };
  return { w, role: new LeaderRole(ctx) };
}

const settled = (): ClusterSnapshot => cluster({ numShards: NUM_SHARDS, nodes: NODES, shards: roundRobinValue(NODES) });

describe('LeaderRole', () => {
  it('elects with a CAS on the leader key when no live node leads, and leads from its win on', async () => {
    const { w, role } = leaderWorld(settled());
    await role.turn();
    expect(w.txns[0]).toEqual({
      compares: [leaderGuard(keys, 0)],
      success: [{ type: 'put', key: keys.leader, value: SELF }],
      failureReads: [keys.leader],
    });
    expect(role.isLeader()).toBe(true);
    expect(w.terms).toEqual([true]);
    expect(w.decisions).toEqual(['skipped']);
    expect(role.decision?.step).toBe('idle');
    expect(w.leased.map(([key]) => key)).toEqual([keys.balancerStatus]);
  });

  it('leaves a live leader alone, and heals a lost election from what its failure branch read', async () => {
    const live = leaderWorld(put(settled(), 'leader', 'b:1'));
    await live.role.turn();
    expect(live.w.txns).toEqual([]);
    expect(live.role.isLeader()).toBe(false);
    expect(live.role.decision).toBeNull();

    const dead = put(settled(), 'leader', 'gone:1');
    const lost = leaderWorld(dead);
    lost.w.answer = () => ({ succeeded: false, revision: dead.revision + 1, reads: new Map() });
    await lost.role.turn();
    expect(lost.w.txns[0]!.compares).toEqual([leaderGuard(keys, dead.leader!.modRevision)]);
    expect(lost.w.healed).toEqual([[keys.leader]]);
    expect(lost.role.isLeader()).toBe(false);
  });

  it('writes under its guard, and a failed guard ends the term it believed it had', async () => {
    const { w, role } = leaderWorld(cluster({ numShards: NUM_SHARDS, nodes: NODES, shards: () => undefined }));
    w.report = (writes) => ({
      ...written(writes),
      results: writes.map((x) => ({ status: 'failed', shardId: x.shardId, error: new GuardFailedError([]) })),
      written: 0,
      failed: writes.length,
      guardFailure: new GuardFailedError([{ key: keys.leader, expected: w.snap.revision + 100, actual: 0 }]),
    });
    await role.turn();
    expect(w.writes).toHaveLength(1);
    expect(w.writes[0]!.writes).toHaveLength(NUM_SHARDS);
    expect(w.writes[0]!.options).toMatchObject({ label: 'leader', now: NOW, guard: leaderGuard(keys, w.snap.revision + 100) });
    expect(w.writes[0]!.options.recordLease?.acquire).toBeDefined();
    // An assignment goes through the custodian, which folds this node's own claims into it.
    expect(w.ownClaims).toEqual([Array.from({ length: NUM_SHARDS }, (_, i) => i)]);
    expect(role.isLeader()).toBe(false);
  });

  it('resigns with a CAS delete on the revision it won, once', async () => {
    const { w, role } = leaderWorld(settled());
    await role.turn();
    const won = w.snap.revision + 100;
    await role.resign();
    expect(w.txns.at(-1)).toEqual({ compares: [leaderGuard(keys, won)], success: [{ type: 'delete', key: keys.leader }] });
    expect(role.isLeader()).toBe(false);
    const sent = w.txns.length;
    await role.resign();
    expect(w.txns).toHaveLength(sent);
  });

  it('backs off after passes that write nothing, and republishes the status only when it changes', async () => {
    const { w, role } = leaderWorld(settled());
    await role.turn();
    await role.turn();
    expect(w.decisions).toHaveLength(1);
    expect(w.passIns).toEqual([50]);
    w.clock.mono += 50;
    await role.turn();
    expect(w.decisions).toHaveLength(2);
    expect(w.leased).toHaveLength(1);
    await role.turn();
    expect(w.passIns).toEqual([50, 100]);
    role.stabilityChanged();
    await role.turn();
    expect(w.decisions).toHaveLength(3);
  });

  it('logs a stuck migration once per episode, and acts on it under its guard', async () => {
    let snap = cluster({
      numShards: NUM_SHARDS,
      nodes: NODES,
      shards: (id) => (id === 0 ? { target: 'b:1', current: 'gone:1', flags: [] } : roundRobinValue(NODES)(id)),
    });
    snap = put(snap, 'migration/0', encodeRecord({ since: NOW - 3_600_000, target: 'b:1', from: 'gone:1' }));
    const { w, role } = leaderWorld(snap);
    await role.turn();
    await role.turn();
    const logged = w.sink.records.filter((r) => r.msg === 'stuck migration');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ shard: 0, state: 'owner-dead', target: 'b:1', current: 'gone:1' });
    expect(w.stuck).toEqual(['owner-dead']);
    expect(w.writes.map((x) => x.writes.map((s) => [s.shardId, s.after.current]))).toEqual([[[0, '']], [[0, '']]]);
    expect(w.writes.every((x) => x.options.guard?.modRevision === snap.revision + 100)).toBe(true);
  });

  it('drives a transition: splits the pairs nobody owns under its guard, completes with a CAS, reports the phases', async () => {
    let snap = followers(settledCount(settled(), NUM_SHARDS), NODES);
    snap = transition(put(snap, 'shard/1', 'b:1,gone:1'), 'split');
    const { w, role } = leaderWorld(snap);
    await role.turn();
    const won = w.snap.revision + 100;
    expect(role.decision).toMatchObject({ step: 'reshard', text: expect.stringMatching(/splitting 1 unowned pairs/) });
    const pair = w.txns.find((t) => t.compares.some((c) => c.key === keys.shard(1 + NUM_SHARDS)))!;
    expect(pair.compares).toEqual([leaderGuard(keys, won), { key: keys.shard(1), modRevision: snap.shards[1]!.modRevision }, { key: keys.shard(1 + NUM_SHARDS), modRevision: 0 }]);
    expect(pair.success.map((op) => (op.type === 'put' ? `${op.key}=${op.value}` : op.key))).toEqual([
      `${keys.shard(1)}=b:1,gone:1`,
      `${keys.shard(1 + NUM_SHARDS)}=b:1,`,
    ]);
    // Nobody owns the new shard: it migrates from no one, so no record (migrationRecordOp's rule).
    expect(w.lease.grants).toBe(0);
    expect(w.phases.map((e) => e.phase)).toEqual(['started']);
    // Every pair split (by the owners and the leader): the record ends the transition.
    for (let low = 0; low < NUM_SHARDS; low++) snap = put(snap, `shard/${low + NUM_SHARDS}`, roundRobinValue(NODES)(low).target + ',');
    w.snap = snap;
    w.clock.mono += 5000;
    await role.turn();
    const end = w.txns.find((t) => t.compares.some((c) => c.key === keys.shardCount))!;
    expect(end.compares).toEqual([leaderGuard(keys, won), { key: keys.shardCount, modRevision: snap.layout.modRevision }]);
    expect(end.success).toEqual([{ type: 'put', key: keys.shardCount, value: encodeShardCount({ count: 2 * NUM_SHARDS, transition: null, reshards: 1 }) }]);
    expect(w.phases.map((e) => e.phase)).toEqual(['started', 'completed']);
  });

  it('drives a merge: co-locates pairs apart (the pinned shard stays), merges pairs nobody owns, does not rebalance', async () => {
    let snap = followers(settledCount(settled(), NUM_SHARDS), NODES);
    snap = put(snap, 'shard/5', 'a:1,a:1');
    snap = put(snap, 'shard/7', 'a:1,a:1,f=pinned');
    snap = put(put(snap, 'shard/0', 'a:1,'), 'shard/4', 'a:1,');
    snap = transition(snap, 'merge');
    const { w, role } = leaderWorld(snap);
    await role.turn();
    const won = w.snap.revision + 100;
    expect(role.decision).toMatchObject({ step: 'reshard', text: expect.stringMatching(/merging 1 unowned pairs; co-locating 2 pairs/) });
    // Pair (1, 5): the high shard joins the low one's target; pair (3, 7): only the high one is pinned, the low one moves.
    expect(w.writes).toHaveLength(1);
    expect(w.writes[0]!.writes.map((x) => [x.shardId, x.after.target])).toEqual([
      [5, 'b:1'],
      [3, 'a:1'],
    ]);
    expect(w.writes[0]!.options.guard).toEqual(leaderGuard(keys, won));
    const merge = w.txns.find((t) => t.success.some((op) => op.type === 'delete'))!;
    expect(merge.compares).toEqual([leaderGuard(keys, won), { key: keys.shard(0), modRevision: snap.shards[0]!.modRevision }, { key: keys.shard(4), modRevision: snap.shards[4]!.modRevision }]);
    expect(merge.success.map((op) => `${op.type} ${op.key}`)).toEqual([`put ${keys.shard(0)}`, `delete ${keys.shard(4)}`, `delete ${keys.migration(4)}`, `delete ${keys.releaseRequest(4)}`]);
  });

  it('ends an abort with the original count, reports the phases, and a stall once no pair moved for the stuck timeout', async () => {
    let snap = followers(settledCount(settled(), NUM_SHARDS), NODES);
    // Every pair waits for its (live) owner to split it: the leader has nothing to write.
    snap = transition(snap, 'split');
    const { w, role } = leaderWorld(snap);
    await role.turn();
    expect(role.decision).toMatchObject({ step: 'idle' });
    w.clock.wall += defaultPlannerSettings(NUM_SHARDS).stuckTimeoutMs;
    w.clock.mono += 5000;
    await role.turn();
    expect(w.phases.map((e) => e.phase)).toEqual(['started', 'stalled']);
    expect(w.phases[1]).toMatchObject({ done: 0, owners: NODES });
    // The abort: no pair was split, so nothing is undone and the original count is written back, the count of reshards unchanged.
    w.snap = transition(settledCount(w.snap, NUM_SHARDS), 'split', 'aborting');
    w.clock.mono += 5000;
    await role.turn();
    const end = w.txns.find((t) => t.compares.some((c) => c.key === keys.shardCount))!;
    expect(end.success).toEqual([{ type: 'put', key: keys.shardCount, value: encodeShardCount({ count: NUM_SHARDS, transition: null, reshards: 0 }) }]);
    expect(w.phases.map((e) => e.phase)).toEqual(['started', 'stalled', 'aborting', 'aborted']);
    expect(w.writes).toEqual([]);
  });

  describe('history', () => {
    const unassigned = (): ClusterSnapshot => cluster({ numShards: NUM_SHARDS, nodes: NODES, shards: () => undefined });

    it('records a decision in the transaction of its shard writes when they fit in one, describing what that attempt writes', async () => {
      const { w, role } = leaderWorld(unassigned());
      w.report = (writes) => ({ ...written(writes), recorded: true });
      await role.turn();
      const recordOps = w.writes[0]!.options.recordOps!;
      expect(recordOps([0, 1])).toEqual([{ type: 'put', key: `${keys.historyRoot}x`, value: '' }]);
      expect(w.recordedDrafts).toHaveLength(1);
      expect(w.recordedDrafts[0]).toMatchObject({ actor: SELF, source: 'leader', action: 'assign', outcome: 'partial', at: NOW });
      expect(w.recordedDrafts[0]!.moves!.map((m) => m.shard)).toEqual([0, 1]);
      // Recorded with the shards: no entry of its own for the decision, only the first skip reason is still to come.
      expect(w.appended.flatMap((a) => a.drafts).filter((d) => d.action === 'assign')).toEqual([]);
      expect(w.trims).toBe(1);
    });

    it('appends a decision whose writes took several transactions right after them, under its guard', async () => {
      const { w, role } = leaderWorld(unassigned());
      await role.turn();
      const [append] = w.appended;
      expect(append!.compares).toEqual([leaderGuard(keys, w.snap.revision + 100)]);
      expect(append!.drafts).toHaveLength(1);
      expect(append!.drafts[0]).toMatchObject({ action: 'assign', outcome: 'written', reason: expect.stringContaining('8') });
      expect(append!.drafts[0]!.moves).toHaveLength(NUM_SHARDS);
    });

    it('records a new reason to do nothing once, not on every pass, and again in a new term', async () => {
      const { w, role } = leaderWorld(settled());
      for (let i = 0; i < 4; i++) {
        await role.turn();
        w.clock.mono += 2000;
      }
      const skips = w.appended.flatMap((a) => a.drafts).filter((d) => d.action === 'skip');
      expect(skips).toHaveLength(1);
      expect(skips[0]).toMatchObject({ actor: SELF, outcome: 'skipped', reason: expect.stringMatching(/^(balanced|within-threshold): /) });
      // The periodic trim runs at the first pass and then every minute, not on every pass.
      expect(w.trims).toBe(1);
      w.clock.mono += 60_000;
      await role.turn();
      expect(w.trims).toBe(2);
    });

    it('records a stuck episode when it begins and the recovery that acts on it', async () => {
      let snap = cluster({
        numShards: NUM_SHARDS,
        nodes: NODES,
        shards: (id) => (id === 0 ? { target: 'b:1', current: 'gone:1', flags: [] } : roundRobinValue(NODES)(id)),
      });
      snap = put(snap, 'migration/0', encodeRecord({ since: NOW - 3_600_000, target: 'b:1', from: 'gone:1' }));
      const { w, role } = leaderWorld(snap);
      await role.turn();
      w.clock.mono += 2000;
      await role.turn();
      const stuck = w.appended.flatMap((a) => a.drafts).filter((d) => d.action === 'stuck');
      expect(stuck).toHaveLength(1);
      expect(stuck[0]).toMatchObject({ outcome: 'detected', moves: [{ shard: 0, from: 'gone:1', to: 'b:1' }] });
      const recover = w.appended.flatMap((a) => a.drafts).filter((d) => d.action === 'recover');
      expect(recover.map((d) => d.shards)).toEqual([[0], [0]]);
    });
  });

  it("repairs records under its own lease: backfills, adopts another writer's keeping its start, deletes the obsolete", async () => {
    let snap = cluster({
      numShards: NUM_SHARDS,
      nodes: NODES,
      // Targets as balanced as round-robin; 0 and 1 are on their way (their owners have not released yet).
      shards: (id) => (id === 0 ? { target: SELF, current: 'b:1', flags: [] } : id === 1 ? { target: 'b:1', current: SELF, flags: [] } : roundRobinValue(NODES)(id)),
    });
    const started = NOW - 5_000;
    snap = put(snap, 'migration/1', encodeRecord({ since: started, target: 'b:1', from: SELF }), '7');
    snap = put(snap, 'migration/2', encodeRecord({ since: started, target: SELF, from: 'b:1' }), '7');
    const { w, role } = leaderWorld(snap);
    const repairTxns = (): TxnRequest[] => w.txns.filter((t) => t.success.some((op) => op.key.startsWith(`${PREFIX}/migration/`)));
    await role.turn();
    // At once: only the settled shard's record goes; moves that complete at once cost no record writes.
    expect(repairTxns().map((t) => t.success)).toEqual([[{ type: 'delete', key: keys.migration(2) }]]);
    expect(w.lease.grants).toBe(0);

    // A quarter of the stuck timeout later, both migrations still in flight.
    w.clock.wall += 15_000;
    w.clock.mono += 15_000;
    await role.turn();
    const last = repairTxns().at(-1)!;
    expect(last.compares[0]).toEqual(leaderGuard(keys, snap.revision + 100));
    expect(last.success).toEqual([
      { type: 'put', key: keys.migration(0), value: encodeRecord({ since: NOW, target: SELF, from: 'b:1' }), lease: 'L1' },
      { type: 'put', key: keys.migration(1), value: encodeRecord({ since: started, target: 'b:1', from: SELF }), lease: 'L1' },
      { type: 'delete', key: keys.migration(2) },
    ]);
    // Each put compares the record and the shard, so no record is written for a migration that already ended.
    expect(last.compares).toContainEqual({ key: keys.migration(1), modRevision: snap.migrations.get(1)!.modRevision });
    expect(last.compares).toContainEqual({ key: keys.shard(1), modRevision: snap.shards[1]!.modRevision });

    // Under its own lease now, the record is left alone.
    w.snap = put(w.snap, 'migration/1', encodeRecord({ since: started, target: 'b:1', from: SELF }), 'L1');
    w.clock.mono += 15_000;
    await role.turn();
    expect(repairTxns().at(-1)!.success.map((op) => op.key)).not.toContain(keys.migration(1));
  });

  it('backfills the record of a shard nobody owns only once its claim is late: a quarter of the stuck timeout', async () => {
    const snap = cluster({
      numShards: NUM_SHARDS,
      nodes: NODES,
      // 0 is on its way from b (no record), 1 is assigned to b and not claimed yet (a first assignment: no record).
      shards: (id) => (id === 0 ? { target: SELF, current: 'b:1', flags: [] } : id === 1 ? { target: 'b:1', current: '', flags: [] } : roundRobinValue(NODES)(id)),
    });
    const { w, role } = leaderWorld(snap);
    const puts = (): string[] =>
      w.txns.flatMap((t) => t.success).filter((op) => op.type === 'put' && op.key.startsWith(`${PREFIX}/migration/`)).map((op) => op.key);
    await role.turn();
    w.clock.wall += 2_000;
    w.clock.mono += 2_000;
    await role.turn();
    expect(puts()).toEqual([keys.migration(0)]);

    const stuckTimeoutMs = defaultPlannerSettings(NUM_SHARDS).stuckTimeoutMs;
    w.clock.wall += stuckTimeoutMs / 4;
    w.clock.mono += stuckTimeoutMs / 4;
    await role.turn();
    const backfill = w.txns.at(-1)!.success.find((op) => op.key === keys.migration(1));
    // Dated from the leader's first sighting, not from the backfill.
    expect(backfill).toEqual({ type: 'put', key: keys.migration(1), value: encodeRecord({ since: NOW, target: 'b:1', from: '' }), lease: 'L1' });
  });

  it('stops renewing its record lease when its term ends and when it resigns, and forgets a lease etcd lost', async () => {
    const migrating = cluster({
      numShards: NUM_SHARDS,
      nodes: NODES,
      shards: (id) => (id === 0 ? { target: SELF, current: 'b:1', flags: [] } : roundRobinValue(NODES)(id)),
    });
    const { w, role } = leaderWorld(migrating);
    await role.turn();
    w.clock.wall += 2_000;
    w.clock.mono += 2_000;
    w.answer = () => {
      throw new NotFoundError('etcd txn: 5 NOT_FOUND: etcdserver: requested lease not found');
    };
    await role.turn();
    expect(w.lease.lost).toEqual(['L1']);
    w.answer = (): TxnResult => ({ succeeded: true, revision: w.snap.revision + 100 });

    // Another node leads now, in a snapshot past this node's win: the term is over.
    w.snap = { ...put(w.snap, 'leader', 'b:1'), revision: w.snap.revision + 1000 };
    await role.turn();
    expect(w.terms).toEqual([true, false]);
    expect(w.lease.released).toBe(1);
    await role.resign();
    expect(w.lease.released).toBe(2);
  });
});
