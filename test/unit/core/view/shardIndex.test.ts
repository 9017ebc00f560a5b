import { describe, expect, it } from 'vitest';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';
import { buildClusterView, type ClusterView } from '../../../../src/core/view/index.js';
import { ShardIndex } from '../../../../src/core/view/shardIndex.js';

const P = '/gv';
let rev = 1;
const put = (key: string, value: string, lease = '0'): Kv => ({ key: `${P}/${key}`, value, modRevision: rev, createRevision: rev++, lease });

function view(snapshot: ClusterSnapshot, previous?: ClusterView, changedShards?: number[]): ClusterView {
  return buildClusterView({
    snapshot,
    now: 0,
    stuckTimeoutMs: 60_000,
    balancer: { strategy: 'count', settings: defaultPlannerSettings(snapshot.numShards) },
    ...(previous ? { previous } : {}),
    ...(changedShards ? { changedShards } : {}),
  });
}

describe('ShardIndex', () => {
  it('lays shards out by owner band in ascending IDs, unassigned then absent last, and maps positions both ways', () => {
    // Node 0 owns 3 and 1; node 1 is the target of 0 (no owner); 2 has neither; 4 is a transition's absent shard.
    const current = Int32Array.from([-1, 0, -1, 0, -1]);
    const target = Int32Array.from([1, 0, -1, 1, -1]);
    const index = new ShardIndex(2, current, target, (id) => id === 4, (id) => id === 3);
    expect([0, 1, 2, 3].map((b) => [index.bandStart(b), [...index.shardsIn(b)]])).toEqual([
      [0, [1, 3]],
      [2, [0]],
      [3, [2]],
      [4, [4]],
    ]);
    expect([0, 1, 2, 3, 4].map((p) => index.idAt(p))).toEqual([1, 3, 0, 2, 4]);
    expect([0, 1, 2, 3, 4].map((id) => index.positionOf(id))).toEqual([2, 0, 3, 1, 4]);
    index.move(1, 1, 1, false);
    index.move(2, 0, 0, false);
    // The pair of 4 split: it is node 1's now.
    index.move(4, 1, 1, false);
    expect([0, 1, 2, 3, 4].map((p) => index.idAt(p))).toEqual([2, 3, 0, 1, 4]);
    expect(index.bandOf(4)).toBe(1);
    expect([...index.notable]).toEqual([3]);
  });

  it('follows a view rebuilt from a changed shard: band, position and notable (migrating, then settled)', () => {
    const nodes = ['a:1', 'b:1'];
    const kvs = [...nodes.map((n) => put(`nodes/${n}`, n, '7')), ...[0, 1, 2, 3].map((id) => put(`shard/${id}`, `${nodes[id % 2]},${nodes[id % 2]}`))];
    let snapshot = buildSnapshot(P, 4, kvs, rev);
    let v = view(snapshot);
    expect(v.layout.notable.size).toBe(0);
    snapshot = applyEvents(snapshot, [{ type: 'put', kv: put('shard/0', 'b:1,a:1') }], rev).snapshot;
    v = view(snapshot, v, [0]);
    expect([...v.layout.notable]).toEqual([0]);
    expect(v.layout.bandOf(0)).toBe(0);
    snapshot = applyEvents(snapshot, [{ type: 'put', kv: put('shard/0', 'b:1,b:1') }], rev).snapshot;
    v = view(snapshot, v, [0]);
    expect([...v.layout.notable]).toEqual([]);
    expect([...v.layout.shardsIn(1)]).toEqual([0, 1, 3]);
    expect(v.layout.positionOf(0)).toBe(1);
  });
});
