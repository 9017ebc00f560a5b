import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { type FirstSeen, listMigrations, type Migration, stuckAmong } from '../../../../src/core/planner/stuck.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv, type KvEvent } from '../../../../src/core/snapshot/snapshot.js';
import { MigrationList, MigrationReading } from '../../../../src/core/view/migrationList.js';

const P = '/gv';
let rev = 1;
const kv = (key: string, value: string, lease = '0'): Kv => ({ key: `${P}/${key}`, value, modRevision: rev, createRevision: rev++, lease });
const put = (key: string, value: string): KvEvent => ({ type: 'put', kv: kv(key, value) });
const del = (key: string): KvEvent => ({ type: 'delete', key: `${P}/${key}`, modRevision: rev++ });

const A = 'a:1';
const B = 'b:1';

/** Shards 0-5 on A and B; 1 and 3 migrating to B, 5 to a dead node. */
function cluster(): ClusterSnapshot {
  const values = [`${A},${A}`, `${B},${A}`, `${B},${B}`, `${B},${A}`, `${A},${A}`, `gone:1,${A}`];
  return buildSnapshot(P, 6, [kv(`nodes/${A}`, A, '7'), kv(`nodes/${B}`, B, '7'), ...values.map((v, id) => kv(`shard/${id}`, v))], rev++);
}

/** The view's order: unknown starts first (the longest seen first), then by start; shard ID breaks ties. */
function viewOrder(a: Migration, b: Migration): number {
  if (a.since === null || b.since === null) {
    if (a.since !== null) return 1;
    if (b.since !== null) return -1;
    return b.seenForMs - a.seenForMs || a.shardId - b.shardId;
  }
  return a.since - b.since || a.shardId - b.shardId;
}

/** What listMigrations and stuckAmong give from scratch. */
function expected(snapshot: ClusterSnapshot, firstSeen: ReadonlyMap<number, FirstSeen>, now: number, timeoutMs: number) {
  const migrations = listMigrations(snapshot, firstSeen, now).sort(viewOrder);
  return { migrations, stuck: stuckAmong(migrations, timeoutMs) };
}

function listed(list: MigrationList, now: number, timeoutMs: number) {
  const migrations = list.list(now);
  return { migrations, stuck: list.stuck(migrations, timeoutMs) };
}

describe('MigrationList', () => {
  it('follows record and entry changes, hinted or found by comparing records, as a list from scratch would', () => {
    let snapshot = cluster();
    const firstSeen = new Map([
      [1, { target: B, since: 100 }],
      [3, { target: B, since: 900 }],
    ]);
    const list = new MigrationList(new Set(snapshot.nodes.keys()), firstSeen, snapshot.migrations, snapshot, 1000, [1, 3, 5]);
    expect(listed(list, 1000, 500)).toEqual(expected(snapshot, firstSeen, 1000, 500));
    // Shard 5 was never seen starting: its start is unknown, so it comes first (it may be the oldest).
    expect(list.list(1000).map((m) => [m.shardId, m.ageSource])).toEqual([
      [5, 'unknown'],
      [1, 'first-seen'],
      [3, 'first-seen'],
    ]);

    // A record for shard 3's target dates it earlier: found without a hint by comparing records.
    snapshot = applyEvents(snapshot, [put('migration/3', encodeRecord({ since: 50, target: B, from: A }))], rev).snapshot;
    expect(list.update(snapshot, firstSeen, 1200, [], false)).toBe(true);
    expect(listed(list, 1200, 500)).toEqual(expected(snapshot, firstSeen, 1200, 500));
    expect(list.list(1200)[1]).toMatchObject({ shardId: 3, since: 50, ageSource: 'record' });

    // Its record goes and shard 1 settles, hinted this time.
    snapshot = applyEvents(snapshot, [del('migration/3'), put('shard/1', `${B},${B}`)], rev).snapshot;
    firstSeen.delete(1);
    expect(list.update(snapshot, firstSeen, 1300, [1, 3], true)).toBe(true);
    expect(listed(list, 1300, 500)).toEqual(expected(snapshot, firstSeen, 1300, 500));
    expect(list.list(1300).map((m) => m.shardId)).toEqual([5, 3]);

    // New first sightings (a re-list) make the caller start over.
    expect(list.update(snapshot, new Map(firstSeen), 1300, [], true)).toBe(false);
  });

  it('gives the stuck shards of known age by age, their reasons current with their age', () => {
    const snapshot = cluster();
    const firstSeen = new Map([
      [1, { target: B, since: 0 }],
      [3, { target: B, since: 60_000 }],
    ]);
    const list = new MigrationList(new Set(snapshot.nodes.keys()), firstSeen, snapshot.migrations, snapshot, 0, [1, 3, 5]);
    // As the view does: an update at every rebuild (nothing changed here), then the list at the same time.
    expect(list.update(snapshot, firstSeen, 90_000, [], true)).toBe(true);
    const early = listed(list, 90_000, 60_000);
    expect(early.stuck.map((s) => s.reason)).toEqual([`shard 1 is not released by its alive owner ${A} to ${B} for 90 s`]);
    list.update(snapshot, firstSeen, 200_000, [], true);
    const later = listed(list, 200_000, 60_000);
    expect(later).toEqual(expected(snapshot, firstSeen, 200_000, 60_000));
    expect(later.stuck.map((s) => s.shardId)).toEqual([1, 3]);
  });

  it('of unknown start: stuck when seen that long, or at once when pinned to a dead node; the longest seen first', () => {
    // Shard 5 pinned to its dead target; 1 and 3 found already under way (a late sighting) at 0 and 30 s.
    const values = [`${A},${A}`, `${B},${A}`, `${B},${B}`, `${B},${A}`, `${A},${A}`, `gone:1,${A},f=pinned`];
    let snapshot = buildSnapshot(P, 6, [kv(`nodes/${A}`, A, '7'), kv(`nodes/${B}`, B, '7'), ...values.map((v, id) => kv(`shard/${id}`, v))], rev++);
    const firstSeen = new Map<number, FirstSeen>([
      [3, { target: B, since: 30_000, late: true }],
      [1, { target: B, since: 0, late: true }],
    ]);
    const list = new MigrationList(new Set(snapshot.nodes.keys()), firstSeen, snapshot.migrations, snapshot, 0, [1, 3, 5]);
    list.update(snapshot, firstSeen, 70_000, [], true);
    const at70 = listed(list, 70_000, 60_000);
    expect(at70).toEqual(expected(snapshot, firstSeen, 70_000, 60_000));
    expect(at70.migrations.map((m) => [m.shardId, m.ageSource, m.ageSource === 'unknown' ? m.seenForMs : m.ageMs])).toEqual([
      [1, 'unknown', 70_000],
      [3, 'unknown', 40_000],
      [5, 'unknown', 0],
    ]);
    expect(at70.stuck.map((s) => [s.shardId, s.basis, s.reason])).toEqual([
      [1, 'age', `shard 1 is not released by its alive owner ${A} to ${B} for at least 70 s (start unknown: no migration record)`],
      [5, 'state', `shard 5 is pinned to gone:1, which is not alive (owner ${A}); unpin or retarget it by hand (for an unknown time: no migration record)`],
    ]);
    // A record dates shard 3: it joins the known ages, after the unknown ones.
    snapshot = applyEvents(snapshot, [put('migration/3', encodeRecord({ since: 1_000, target: B, from: A }))], rev).snapshot;
    list.update(snapshot, firstSeen, 100_000, [3], true);
    const at100 = listed(list, 100_000, 60_000);
    expect(at100).toEqual(expected(snapshot, firstSeen, 100_000, 60_000));
    expect(at100.migrations.map((m) => m.shardId)).toEqual([1, 5, 3]);
    expect(at100.stuck.map((s) => s.shardId)).toEqual([1, 5, 3]);
  });

  it('counts and flags stuck shards without building them; a view reads the rest when asked, before the list moves on', () => {
    const snapshot = cluster();
    const firstSeen = new Map<number, FirstSeen>([
      [1, { target: B, since: 0 }],
      [3, { target: B, since: 60_000 }],
    ]);
    const list = new MigrationList(new Set(snapshot.nodes.keys()), firstSeen, snapshot.migrations, snapshot, 0, [1, 3, 5]);
    expect(list.stuckIds(90_000, 60_000)).toEqual([1]);
    expect(list.stuckIds(200_000, 60_000)).toEqual(expected(snapshot, firstSeen, 200_000, 60_000).stuck.map((s) => s.shardId));
    const read = new MigrationReading(list, 90_000, 60_000);
    const unread = new MigrationReading(list, 90_000, 60_000);
    expect(unread.stuckShard(1)?.reason).toBe(`shard 1 is not released by its alive owner ${A} to ${B} for 90 s`);
    expect(unread.migration(3)).toMatchObject({ shardId: 3, ageSource: 'first-seen', ageMs: 30_000 });
    expect(read.stuck().map((s) => s.shardId)).toEqual([1]);
    list.update(snapshot, firstSeen, 100_000, [], true);
    // What was read stays; what was not can no longer be worked out at its time.
    expect(read.migrations().map((m) => m.shardId)).toEqual([5, 1, 3]);
    expect(read.stuckShard(1)?.basis).toBe('age');
    expect(() => unread.migrations()).toThrow(/after a later view took its migrations over/);
  });
});
