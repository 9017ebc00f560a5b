/**
 * The view during a shard-count transition: the high shards without a key are `absent` and left out of every count,
 * the transition's progress comes from the planner's pair rule, members that cannot follow are named, and locate
 * answers for both counts with the one serving now.
 */
import { describe, expect, it } from 'vitest';
import { InvalidObjectIdError } from '../../../../src/core/errors.js';
import { fnv1a32 } from '../../../../src/core/sharding/hash.js';
import { locateObject, selectShards, shardRow } from '../../../../src/core/view/index.js';
import { kv, N1, N2, N3, P } from '../../console/fixtures.js';
import { followerInfo, GATE, range, transitionView } from './reshardFixtures.js';

/** A regular object ID whose shard under 16 is `want`. */
function idInShard(want: number, of = 16): string {
  for (let i = 0; ; i++) if (fnv1a32(`obj-${i}`) % of === want) return `obj-${i}`;
}

describe('the view during a split 8 -> 16 with pairs 0 and 1 done', () => {
  const view = transitionView({ count: 8, kind: 'split', shards: [...range(0, 8), 8, 9] });

  it('counts the layout (10 shards), not the 16 IDs, and marks the 6 high shards without a key absent', () => {
    expect(view.snapshot.numShards).toBe(16);
    expect(view.counts).toMatchObject({ total: 10, owned: 10, unowned: 0, noTarget: 0, absent: 6, stable: 10 });
    expect(shardRow(view, 12).state).toBe('absent');
    expect(shardRow(view, 9).state).toBe('stable');
    expect(selectShards(view, { states: ['absent'] })).toEqual(range(10, 16));
    // The ideal share is of the layout's shards.
    expect(view.nodes.map((n) => n.ideal)).toEqual([5, 5]);
  });

  it('reports the progress from the planner: kind, counts, goal and pairs done', () => {
    expect(view.reshard).toMatchObject({ kind: 'split', state: 'running', from: 8, to: 16, goal: 'split', pairs: 8, done: 2, by: 'alice@ops' });
  });

  it('locates an object under both counts and says which serves', () => {
    const split = idInShard(9);
    expect(locateObject(view.snapshot, split)).toEqual({
      objectId: split,
      format: 'regular',
      count: 8,
      shard: 9,
      node: null,
      transition: { kind: 'split', state: 'running', from: 8, to: 16, shardFrom: 1, shardTo: 9, serving: 'to' },
    });
    const pending = idInShard(13);
    expect(locateObject(view.snapshot, pending)).toMatchObject({ shard: 5, transition: { shardFrom: 5, shardTo: 13, serving: 'from' } });
    const low = idInShard(3);
    expect(locateObject(view.snapshot, low)).toMatchObject({ shard: 3, transition: { shardFrom: 3, shardTo: 3, serving: 'both' } });
    // Fixed shards: valid below the larger count, served by their low shard until their pair splits.
    expect(locateObject(view.snapshot, 'shard#12/x')).toMatchObject({ format: 'fixed-shard', shard: 4, transition: { shardFrom: 4, shardTo: 12, serving: 'from' } });
    expect(locateObject(view.snapshot, 'shard#8/x')).toMatchObject({ shard: 8, transition: { serving: 'to' } });
    expect(() => locateObject(view.snapshot, 'shard#16/x')).toThrow(InvalidObjectIdError);
    expect(locateObject(view.snapshot, `${N1}/x`)).toMatchObject({ format: 'fixed-node', shard: null, node: N1, transition: null });
  });
});

describe('the view during a merge 16 -> 8 with pairs 4 to 7 merged', () => {
  const view = transitionView({ count: 16, kind: 'merge', shards: range(0, 12) });

  it('counts the 12 shards left and the merged high shards as absent', () => {
    expect(view.counts).toMatchObject({ total: 12, owned: 12, absent: 4 });
    expect(view.reshard).toMatchObject({ kind: 'merge', goal: 'merge', pairs: 8, done: 4 });
  });

  it('locates under the count in force (16) and the one it goes to (8)', () => {
    expect(locateObject(view.snapshot, idInShard(10))).toMatchObject({ count: 16, shard: 10, transition: { shardFrom: 10, shardTo: 2, serving: 'from' } });
    expect(locateObject(view.snapshot, idInShard(14))).toMatchObject({ shard: 6, transition: { shardFrom: 14, shardTo: 6, serving: 'to' } });
  });
});

describe('at a stable count', () => {
  it('has no transition, no absent shard, and locate answers for the count in force', () => {
    const view = transitionView({ count: 16, kind: null, shards: range(0, 16), reshards: 1 });
    expect(view.reshard).toBeNull();
    expect(view.counts).toMatchObject({ total: 16, absent: 0 });
    const id = idInShard(11);
    expect(locateObject(view.snapshot, id)).toEqual({ objectId: id, format: 'regular', count: 16, shard: 11, node: null, transition: null });
  });
});

describe('members that cannot follow the count', () => {
  it('are upstream nodes and gates, older goverse-nodes, and nodes advertising another count', () => {
    const older = '10.0.0.4:7001';
    const stale = '10.0.0.5:7001';
    const view = transitionView({
      count: 8,
      kind: 'split',
      shards: range(0, 8),
      extra: [
        kv(`${P}/nodes/${N3}`, N3, '1'),
        kv(`${P}/nodes/${older}`, older, '1'),
        kv(`${P}/nodeinfo/${older}`, JSON.stringify({ nodeId: 'o', opsUrl: '', apiUrl: '', version: '0', weight: 1, startedAt: 0, state: 'running' }), '1'),
        kv(`${P}/nodes/${stale}`, stale, '1'),
        followerInfo(stale, 4),
        kv(`${P}/gates/${GATE}`, GATE, '1'),
      ],
    });
    expect(view.cannotFollow).toEqual([
      { address: N3, kind: 'node', reason: 'upstream-node', advertised: null },
      { address: older, kind: 'node', reason: 'no-capability', advertised: null },
      { address: stale, kind: 'node', reason: 'other-count', advertised: 4 },
      { address: GATE, kind: 'gate', reason: 'upstream-gate', advertised: null },
    ]);
    // Our followers (serving the count in force) are not named; upstream and older nodes are not eligible.
    expect(view.cannotFollow.map((m) => m.address)).not.toContain(N2);
    expect(view.nodes.filter((n) => n.status === 'cannot-follow').map((n) => n.address)).toEqual([N3, older]);
  });
});
