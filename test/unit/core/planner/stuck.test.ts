import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import type { ShardValue } from '../../../../src/core/keyspace/shardValue.js';
import { planRecovery } from '../../../../src/core/planner/recovery.js';
import { findStuck, type FirstSeen, listMigrations, recordRepairs, trackFirstSeen } from '../../../../src/core/planner/stuck.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { addNode, cluster, put } from './fixtures.js';

const NOW = 1_000_000;
const TIMEOUT = 60_000;
/** A leader that holds no record lease yet, adopting after a quarter of the stuck timeout. */
const NO_LEASE = { own: null, adoptAfterMs: TIMEOUT / 4 };
const v = (target: string, current: string, flags: string[] = []): ShardValue => ({ target, current, flags });

/** Alive: a, b (c is dead). One shard per limbo state. */
function scenario(): { snapshot: ClusterSnapshot; firstSeen: Map<number, FirstSeen> } {
  const values: (ShardValue | undefined)[] = [
    v('a:1', 'a:1'),
    v('b:1', ''), // 1 target-unclaimed, record 70 s
    v('b:1', 'c:1'), // 2 owner-dead, first seen 61 s ago
    v('b:1', 'a:1'), // 3 owner-not-releasing, record 90 s, no request
    v('b:1', 'a:1'), // 4 owner-not-releasing, request 61 s old
    v('b:1', 'a:1'), // 5 owner-not-releasing, request 1 s old
    v('c:1', 'a:1'), // 6 target-dead
    v('c:1', '', ['pinned']), // 7 pinned-to-dead
    v('', 'a:1'), // 8 no-target
    v('b:1', ''), // 9 target-unclaimed, stale record only: age 0
    v('b:1', '', ['pinned']), // 10 target-unclaimed, pinned
    undefined,
  ];
  let snapshot = cluster({ numShards: values.length, nodes: ['a:1', 'b:1'], shards: (id) => values[id] });
  const migration = (id: number, since: number, target: string): void => {
    snapshot = put(snapshot, `migration/${id}`, encodeRecord({ since, target, from: 'a:1' }));
  };
  const request = (id: number, at: number, owner: string): void => {
    snapshot = put(snapshot, `release-request/${id}`, encodeRecord({ at, by: 'leader', owner }));
  };
  migration(1, NOW - 70_000, 'b:1');
  migration(3, NOW - 90_000, 'b:1');
  migration(9, NOW - 999_000, 'x:1');
  migration(0, NOW - 5_000, 'a:1'); // finished migration: obsolete
  request(4, NOW - 61_000, 'a:1');
  request(5, NOW - 1_000, 'a:1');
  request(0, NOW - 1_000, 'a:1'); // not in migration: obsolete
  const old = { since: NOW - 61_000 };
  const firstSeen = new Map<number, FirstSeen>([
    [2, { target: 'b:1', ...old }],
    [4, { target: 'b:1', ...old }],
    [5, { target: 'b:1', ...old }],
    [6, { target: 'c:1', ...old }],
    [7, { target: 'c:1', ...old }],
    [8, { target: '', ...old }],
    [10, { target: 'b:1', ...old }],
  ]);
  return { snapshot, firstSeen };
}

describe('stuck migrations', () => {
  it('looks only at the candidates it is given, with the same answer when they cover every shard in migration', () => {
    const { snapshot, firstSeen } = scenario();
    const full = listMigrations(snapshot, firstSeen, NOW);
    expect(listMigrations(snapshot, firstSeen, NOW, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual(full);
    expect(listMigrations(snapshot, firstSeen, NOW, [2, 7]).map((m) => m.shardId)).toEqual([2, 7]);
  });

  it('classifies every shard in migration and dates it from its record, else from first sight', () => {
    const { snapshot, firstSeen } = scenario();
    const m = listMigrations(snapshot, firstSeen, NOW);
    expect(m.map((x) => [x.shardId, x.state, x.ageMs, x.ageSource])).toEqual([
      [1, 'target-unclaimed', 70_000, 'record'],
      [2, 'owner-dead', 61_000, 'first-seen'],
      [3, 'owner-not-releasing', 90_000, 'record'],
      [4, 'owner-not-releasing', 61_000, 'first-seen'],
      [5, 'owner-not-releasing', 61_000, 'first-seen'],
      [6, 'target-dead', 61_000, 'first-seen'],
      [7, 'pinned-to-dead', 61_000, 'first-seen'],
      [8, 'no-target', 61_000, 'first-seen'],
      [9, 'target-unclaimed', null, 'unknown'],
      [10, 'target-unclaimed', 61_000, 'first-seen'],
    ]);
  });

  it('lists the stuck ones with a reason', () => {
    const { snapshot, firstSeen } = scenario();
    const stuck = findStuck(snapshot, firstSeen, NOW, TIMEOUT);
    expect(stuck.map((s) => s.shardId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10]);
    expect(stuck[0]!.reason).toBe('shard 1 is not claimed by its alive target b:1 for 70 s');
    expect(stuck.find((s) => s.shardId === 7)!.reason).toBe(
      'shard 7 is pinned to c:1, which is not alive (owner none); unpin or retarget it by hand for 61 s',
    );
    expect(findStuck(snapshot, firstSeen, NOW, 80_000).map((s) => s.shardId)).toEqual([3]);
  });

  it('plans the recovery per state', () => {
    const { snapshot, firstSeen } = scenario();
    const actions = planRecovery(snapshot, findStuck(snapshot, firstSeen, NOW, TIMEOUT), { assignment: 'rendezvous', releaseTimeoutMs: 60_000 }, NOW, 'leader-x');
    const summary = actions.map((a) => {
      switch (a.kind) {
        case 'retarget':
        case 'clear-owner':
        case 'cancel':
          return [a.shardId, a.kind, `${a.write.after.target},${a.write.after.current}`];
        case 'request-release':
          return [a.shardId, a.kind, a.record.owner, a.expectedModRevision];
        case 'wait':
          return [a.shardId, a.kind, a.until];
        case 'report':
          return [a.shardId, a.kind];
      }
    });
    expect(summary).toEqual([
      [1, 'retarget', 'a:1,'], // the only other eligible node
      [2, 'clear-owner', 'b:1,'],
      [3, 'request-release', 'a:1', 0],
      [4, 'cancel', 'a:1,a:1'],
      [5, 'wait', NOW - 1_000 + 60_000],
      [6, 'retarget', 'a:1,a:1'], // the owner is eligible: no data moves
      [7, 'report'],
      [8, 'retarget', 'a:1,a:1'],
      [10, 'report'], // pinned: never retargeted
    ]);
    const release = actions.find((a) => a.kind === 'request-release');
    expect(release).toMatchObject({ record: { at: NOW, by: 'leader-x', owner: 'a:1' } });
    const noOther = planRecovery(
      cluster({ numShards: 1, nodes: ['b:1'], shards: () => v('b:1', '') }),
      [{ shardId: 0, state: 'target-unclaimed', target: 'b:1', current: '', pinned: false, since: 0, ageMs: 1, ageSource: 'record', basis: 'age', reason: 'r' }],
      { assignment: 'rendezvous', releaseTimeoutMs: 1 },
      NOW,
      'l',
    );
    expect(noOther).toEqual([{ kind: 'report', shardId: 0, text: 'r; no other eligible node to retarget to' }]);
  });

  it('a pinned shard settled on a node that is gone is pinned-to-dead: tracked, dated, reported, its record kept', () => {
    const values = [v('c:1', 'c:1', ['pinned']), v('c:1', 'c:1'), v('a:1', 'a:1', ['pinned'])];
    const snapshot = cluster({ numShards: values.length, nodes: ['a:1'], shards: (id) => values[id] });
    const firstSeen = trackFirstSeen(new Map(), snapshot, NOW - 61_000);
    // The unpinned one is reassign's job (a new target once the cluster is stable), not a migration yet.
    expect([...firstSeen]).toEqual([[0, { target: 'c:1', since: NOW - 61_000 }]]);
    const stuck = findStuck(snapshot, firstSeen, NOW, TIMEOUT);
    expect(stuck.map((s) => [s.shardId, s.state, s.ageMs])).toEqual([[0, 'pinned-to-dead', 61_000]]);
    expect(stuck[0]!.reason).toBe('shard 0 is pinned to c:1, which is not alive (owner c:1); unpin or retarget it by hand for 61 s');
    expect(planRecovery(snapshot, stuck, { assignment: 'rendezvous', releaseTimeoutMs: 1 }, NOW, 'l').map((a) => a.kind)).toEqual(['report']);
    const repairs = recordRepairs(snapshot, firstSeen, NOW, NO_LEASE);
    expect(repairs.backfill).toEqual([{ shardId: 0, expectedModRevision: 0, record: { since: NOW - 61_000, target: 'c:1', from: 'c:1' } }]);
    // The record stays while c is gone, and is obsolete once c is back.
    const recorded = put(snapshot, 'migration/0', encodeRecord(repairs.backfill[0]!.record));
    expect(recordRepairs(recorded, firstSeen, NOW, NO_LEASE).obsoleteMigrations).toEqual([]);
    const back = addNode(recorded, 'c:1');
    expect(recordRepairs(back, firstSeen, NOW, NO_LEASE).obsoleteMigrations.map((m) => m.shardId)).toEqual([0]);
    expect(listMigrations(back, firstSeen, NOW)).toEqual([]);
  });

  it('tracks first sightings per target', () => {
    const { snapshot } = scenario();
    const prev = new Map<number, FirstSeen>([
      [1, { target: 'b:1', since: 5 }],
      [3, { target: 'other', since: 5 }],
      [0, { target: 'a:1', since: 5 }],
    ]);
    const next = trackFirstSeen(prev, snapshot, NOW);
    expect(next.get(1)).toEqual({ target: 'b:1', since: 5 });
    expect(next.get(3)).toEqual({ target: 'b:1', since: NOW });
    expect(next.has(0)).toBe(false);
    expect([...next.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('lists migration records to backfill and records to delete', () => {
    const { snapshot, firstSeen } = scenario();
    const r = recordRepairs(snapshot, firstSeen, NOW, NO_LEASE);
    expect(r.backfill.map((b) => b.shardId)).toEqual([2, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.backfill.find((b) => b.shardId === 2)).toEqual({
      shardId: 2,
      expectedModRevision: 0,
      record: { since: NOW - 61_000, target: 'b:1', from: 'c:1' },
    });
    const stale = r.backfill.find((b) => b.shardId === 9)!;
    expect(stale.expectedModRevision).toBe(snapshot.migrations.get(9)!.modRevision);
    expect(stale.record.since).toBe(NOW);
    expect(r.obsoleteMigrations).toEqual([{ shardId: 0, modRevision: snapshot.migrations.get(0)!.modRevision }]);
    // Records 1 and 3 belong to migrations the leader has not watched for a quarter of the stuck timeout yet.
    expect(r.adopt).toEqual([]);
    expect(r.obsoleteReleaseRequests).toEqual([{ shardId: 0, modRevision: snapshot.releaseRequests.get(0)!.modRevision }]);
  });

  it("adopts the records of migrations in flight under another writer's lease, once it has watched them a while", () => {
    const values = [v('b:1', 'a:1'), v('b:1', ''), v('b:1', 'a:1'), v('b:1', 'b:1'), v('b:1', 'a:1'), v('b:1', '')];
    let snapshot = cluster({ numShards: values.length, nodes: ['a:1', 'b:1'], shards: (id) => values[id] });
    const record = (id: number, lease: string, target = 'b:1'): void => {
      snapshot = put(snapshot, `migration/${id}`, encodeRecord({ since: NOW - 20_000, target, from: 'a:1' }), lease);
    };
    record(0, '7'); // another writer's lease (goverse-top, a node's hand-over, an earlier leader)
    record(1, '0'); // no lease: written by an older version
    record(2, '42'); // the leader's own
    record(3, '7'); // the move is over: obsolete, deleted
    record(4, '7'); // seen too briefly
    record(5, '7', 'x:1'); // for an earlier target: backfilled for this one
    const seen = (since: number): FirstSeen => ({ target: 'b:1', since });
    const firstSeen = new Map([0, 1, 2, 5].map((id) => [id, seen(NOW - 15_000)]));
    firstSeen.set(4, seen(NOW - 14_999));
    const rule = { own: '42', adoptAfterMs: 15_000 };
    const r = recordRepairs(snapshot, firstSeen, NOW, rule);
    // As they are: the age keeps its start, the compare is on the record read.
    expect(r.adopt).toEqual(
      [0, 1].map((id) => ({
        shardId: id,
        expectedModRevision: snapshot.migrations.get(id)!.modRevision,
        record: { since: NOW - 20_000, target: 'b:1', from: 'a:1' },
      })),
    );
    expect(r.obsoleteMigrations.map((m) => m.shardId)).toEqual([3]);
    expect(r.backfill.map((b) => [b.shardId, b.record.since])).toEqual([[5, NOW - 15_000]]);
    // Before the leader holds a lease, its own earlier records are someone else's too.
    expect(recordRepairs(snapshot, firstSeen, NOW, { ...rule, own: null }).adopt.map((a) => a.shardId)).toEqual([0, 1, 2]);
    // The snapshot keeps each record's lease.
    expect([...snapshot.migrations.values()].map((m) => m.lease)).toEqual(['7', '0', '42', '7', '7', '7']);
  });

  it('backfills over a malformed record with a CAS on its revision, so the repair can succeed', () => {
    const base = cluster({ numShards: 2, nodes: ['a:1', 'b:1'], shards: () => v('b:1', 'a:1') });
    const garbage = put(base, 'migration/0', 'not json');
    const revision = garbage.malformed.get('/goverse/migration/0')!.modRevision;
    const repairs = recordRepairs(garbage, new Map(), NOW, NO_LEASE);
    expect(repairs.backfill.map((b) => [b.shardId, b.expectedModRevision])).toEqual([
      [0, revision],
      [1, 0],
    ]);
  });

  it('an unknown age is null, never 0: stuck only in a:1 state nothing repairs, or once seen for the timeout', () => {
    // Alive: a. No records, no sightings (a one-shot command, or an upstream cluster, which writes no records).
    const values = [v('c:1', 'c:1', ['pinned']), v('c:1', '', ['pinned']), v('a:1', 'c:1'), v('c:1', 'a:1'), v('a:1', '')];
    const snapshot = cluster({ numShards: values.length, nodes: ['a:1'], shards: (id) => values[id] });
    const once = listMigrations(snapshot, new Map(), NOW);
    expect(once.map((m) => [m.shardId, m.state, m.ageMs, m.since, m.ageSource])).toEqual([
      [0, 'pinned-to-dead', null, null, 'unknown'],
      [1, 'pinned-to-dead', null, null, 'unknown'],
      [2, 'owner-dead', null, null, 'unknown'],
      [3, 'target-dead', null, null, 'unknown'],
      [4, 'target-unclaimed', null, null, 'unknown'],
    ]);
    const stuck = findStuck(snapshot, new Map(), NOW, TIMEOUT);
    // Pinned to a node that is gone: nothing repairs it, whatever its age. The others may be moments old.
    expect(stuck.map((s) => [s.shardId, s.basis])).toEqual([
      [0, 'state'],
      [1, 'state'],
    ]);
    expect(stuck[0]!.reason).toBe(
      'shard 0 is pinned to c:1, which is not alive (owner c:1); unpin or retarget it by hand (for an unknown time: no migration record)',
    );

    // A watcher that found them under way (late sightings) knows a lower bound: stuck once seen for the timeout.
    const seen = trackFirstSeen(new Map(), snapshot, NOW - 61_000, true);
    expect(seen.get(2)).toEqual({ target: 'a:1', since: NOW - 61_000, late: true });
    const watched = findStuck(snapshot, seen, NOW, TIMEOUT);
    expect(watched.map((s) => [s.shardId, s.ageMs, s.ageSource, s.basis])).toEqual([
      [0, null, 'unknown', 'age'],
      [1, null, 'unknown', 'age'],
      [2, null, 'unknown', 'age'],
      [3, null, 'unknown', 'age'],
      [4, null, 'unknown', 'age'],
    ]);
    expect(watched[2]!.reason).toBe('shard 2 is not claimed by a:1; its owner c:1 is not alive for at least 61 s (start unknown: no migration record)');
    expect(findStuck(snapshot, seen, NOW, 120_000).map((s) => [s.shardId, s.basis])).toEqual([
      [0, 'state'],
      [1, 'state'],
    ]);
    // A later sighting of a new migration (another target) is its start: known.
    const moved = cluster({ numShards: values.length, nodes: ['a:1'], shards: (id) => (id === 2 ? v('b:1', 'c:1') : values[id]) });
    const next = trackFirstSeen(seen, moved, NOW);
    expect(next.get(2)).toEqual({ target: 'b:1', since: NOW });
    expect(listMigrations(moved, next, NOW + 5_000, [2])).toEqual([
      expect.objectContaining({ shardId: 2, ageSource: 'first-seen', since: NOW, ageMs: 5_000 }),
    ]);
    // The leader's backfill dates a migration it has not seen from now, as before.
    expect(recordRepairs(snapshot, new Map(), NOW, NO_LEASE).backfill.map((b) => b.record.since)).toEqual(values.map(() => NOW));
  });
});

