import { describe, expect, it } from 'vitest';
import { formatShardValue, type ShardValue } from '../../../../src/core/keyspace/shardValue.js';
import { Sightings, StabilityClock } from '../../../../src/core/planner/sightings.js';
import { applyEvents, type ClusterChange, type ClusterSnapshot, type KvEvent } from '../../../../src/core/snapshot/snapshot.js';
import { cluster, PREFIX } from './fixtures.js';

const v = (target: string, current: string, flags: string[] = []): ShardValue => ({ target, current, flags });

let revision = 10_000;
const put = (key: string, value: string): KvEvent => {
  revision++;
  return { type: 'put', kv: { key: `${PREFIX}/${key}`, value, modRevision: revision, createRevision: revision, lease: '1' } };
};
const del = (key: string): KvEvent => ({ type: 'delete', key: `${PREFIX}/${key}`, modRevision: ++revision });
const shard = (id: number, value: ShardValue): KvEvent => put(`shard/${id}`, formatShardValue(value));

/** Applies events as a watcher does: the next snapshot and the changes it reports. */
function watch(snapshot: ClusterSnapshot, events: KvEvent[]): { snapshot: ClusterSnapshot; changes: ClusterChange[] } {
  return applyEvents(snapshot, events, revision);
}

/** Alive a and b; shard 0 settled on a, 1 migrating a -> b, 2 pinned on dead c, 3 absent. */
const start = (): ClusterSnapshot =>
  cluster({ numShards: 4, nodes: ['a:1', 'b:1'], shards: (id) => [v('a:1', 'a:1'), v('b:1', 'a:1'), v('c:1', 'c:1', ['pinned'])][id] });

describe('StabilityClock', () => {
  it('starts at the member start and restarts only when a node joins or leaves', () => {
    const clock = new StabilityClock(100);
    let s = start();
    const step = (events: KvEvent[], now: number): void => {
      const w = watch(s, events);
      s = w.snapshot;
      clock.observe(w.changes, now);
    };
    expect(clock.since).toBe(100);
    // A gate, a leader change, a shard move and a re-put of a known node leave it alone.
    step([put('gates/g:1', 'g:1'), put('leader', 'a:1'), shard(0, v('b:1', 'a:1')), put('nodes/a:1', 'a:1')], 200);
    expect(clock.since).toBe(100);
    step([put('nodes/c:1', 'c:1')], 300);
    expect(clock.since).toBe(300);
    step([del('nodes/b:1')], 400);
    expect(clock.since).toBe(400);
  });
});

describe('Sightings from watch batches (the console)', () => {
  it('is unknown until the alive set changes, then dates the change', () => {
    const sightings = new Sightings();
    let s = start();
    sightings.restart(s, 0);
    const step = (events: KvEvent[], now: number): void => {
      const w = watch(s, events);
      s = w.snapshot;
      sightings.observe(w.changes, now);
    };
    step([put('gates/g:1', 'g:1'), put('leader', 'b:1'), put('nodes/a:1', 'a:1')], 10);
    expect(sightings.stableSince).toBeUndefined();
    step([put('nodes/c:1', 'c:1')], 20);
    expect(sightings.stableSince).toBe(20);
    step([del('nodes/c:1')], 30);
    expect(sightings.stableSince).toBe(30);
  });

  it('takes what a full list finds as already under way, then follows the changed shards only', () => {
    const sightings = new Sightings();
    let s = start();
    sightings.restart(s, 5);
    // The full pass tracks the migration and the pinned shard settled on a dead node; their start is unknown.
    expect([...sightings.firstSeen]).toEqual([
      [1, { target: 'b:1', since: 5, late: true }],
      [2, { target: 'c:1', since: 5, late: true }],
    ]);
    const step = (events: KvEvent[], now: number): void => {
      const w = watch(s, events);
      s = w.snapshot;
      sightings.observe(w.changes, now);
    };
    // Claimed: settled, dropped. A new migration: seen now. The same target again: kept.
    step([shard(1, v('b:1', 'b:1')), shard(0, v('b:1', 'a:1')), shard(3, v('a:1', ''))], 10);
    step([shard(0, v('b:1', 'a:1', ['pinned']))], 20);
    expect([...sightings.firstSeen].sort(([x], [y]) => x - y)).toEqual([
      [0, { target: 'b:1', since: 10 }],
      [2, { target: 'c:1', since: 5, late: true }],
      [3, { target: 'a:1', since: 10 }],
    ]);
    // A new target restarts the sighting; a deleted shard key drops it.
    step([shard(0, v('a:1', 'a:1', ['pinned'])), shard(3, v('b:1', '')), del('shard/2')], 30);
    expect([...sightings.firstSeen].sort(([x], [y]) => x - y)).toEqual([[3, { target: 'b:1', since: 30 }]]);
    // A shard change alone cannot tell a dead node: pinned on dead c is not tracked from a batch (its record dates it).
    step([shard(2, v('c:1', 'c:1', ['pinned']))], 40);
    expect(sightings.firstSeen.has(2)).toBe(false);
    // A re-list (after a gap) keeps what it knew and finds the rest under way.
    sightings.restart(s, 50);
    expect(sightings.firstSeen.get(2)).toEqual({ target: 'c:1', since: 50, late: true });
    expect(sightings.firstSeen.get(3)).toEqual({ target: 'b:1', since: 30 });
  });
});

describe('Sightings from polls (watch)', () => {
  it('compares each poll with the one before: the first one only learns the alive set', () => {
    const sightings = new Sightings();
    let s = start();
    sightings.poll(s, 10);
    expect(sightings.stableSince).toBeUndefined();
    expect([...sightings.firstSeen.keys()]).toEqual([1, 2]);
    s = watch(s, [put('nodes/a:1', 'a:1'), put('gates/g:1', 'g:1'), shard(0, v('b:1', 'a:1'))]).snapshot;
    sightings.poll(s, 20);
    expect(sightings.stableSince).toBeUndefined();
    expect(sightings.firstSeen.get(0)).toEqual({ target: 'b:1', since: 20 });
    expect(sightings.firstSeen.get(1)).toEqual({ target: 'b:1', since: 10, late: true });
    // One node left and another joined between two polls: the same count, another set.
    s = watch(s, [del('nodes/b:1'), put('nodes/d:1', 'd:1')]).snapshot;
    sightings.poll(s, 30);
    expect(sightings.stableSince).toBe(30);
    sightings.poll(s, 40);
    expect(sightings.stableSince).toBe(30);
  });
});
