import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { listMigrations, stuckAmong } from '../../../../src/core/planner/stuck.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv, type KvEvent } from '../../../../src/core/snapshot/snapshot.js';
import { MigrationList } from '../../../../src/core/view/migrationList.js';

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

/** What listMigrations and stuckAmong give from scratch. */
function expected(snapshot: ClusterSnapshot, firstSeen: ReadonlyMap<number, { target: string; since: number }>, now: number, timeoutMs: number) {
  const migrations = listMigrations(snapshot, firstSeen, now).sort((x, y) => x.since - y.since || x.shardId - y.shardId);
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
    expect(list.list(1000).map((m) => [m.shardId, m.ageSource])).toEqual([
      [1, 'first-seen'],
      [3, 'first-seen'],
      [5, 'now'],
    ]);

    // A record for shard 3's target dates it earlier: found without a hint by comparing records.
    snapshot = applyEvents(snapshot, [put('migration/3', encodeRecord({ since: 50, target: B, from: A }))], rev).snapshot;
    expect(list.update(snapshot, firstSeen, 1200, [], false)).toBe(true);
    expect(listed(list, 1200, 500)).toEqual(expected(snapshot, firstSeen, 1200, 500));
    expect(list.list(1200)[0]).toMatchObject({ shardId: 3, since: 50, ageSource: 'record' });

    // Its record goes and shard 1 settles, hinted this time.
    snapshot = applyEvents(snapshot, [del('migration/3'), put('shard/1', `${B},${B}`)], rev).snapshot;
    firstSeen.delete(1);
    expect(list.update(snapshot, firstSeen, 1300, [1, 3], true)).toBe(true);
    expect(listed(list, 1300, 500)).toEqual(expected(snapshot, firstSeen, 1300, 500));
    expect(list.list(1300).map((m) => m.shardId)).toEqual([3, 5]);

    // New first sightings (a re-list) make the caller start over.
    expect(list.update(snapshot, new Map(firstSeen), 1300, [], true)).toBe(false);
  });

  it('gives stuck shards as the oldest prefix, their reasons current with their age', () => {
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
});
