import { describe, expect, it } from 'vitest';
import { planCount } from '../../../src/core/planner/count.js';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import { addNode, cluster, converge, roundRobinValue, targetCounts } from './fixtures.js';

const NODES = ['n1', 'n2', 'n3'];

describe('count strategy (upstream RebalanceShards)', () => {
  it('reproduces the 8192-shard vector of core 10.3', () => {
    const settings = defaultPlannerSettings(8192);
    expect(settings.batchSize).toBe(64);
    const start = addNode(cluster({ numShards: 8192, nodes: NODES, shards: roundRobinValue(NODES) }), 'n4');
    const first = planCount(start, settings);
    expect(first.kind).toBe('write');
    if (first.kind !== 'write') return;
    expect(first.writes.length).toBe(64);
    expect(first.writes.slice(0, 6).map((w) => [w.shardId, w.before.target])).toEqual([
      [0, 'n1'],
      [1, 'n2'],
      [3, 'n1'],
      [4, 'n2'],
      [2, 'n3'],
      [6, 'n1'],
    ]);
    expect(new Set(first.writes.map((w) => w.after.target))).toEqual(new Set(['n4']));
    const c = converge(start, (s) => planCount(s, settings));
    expect(c.rounds).toBe(28);
    expect(c.moves).toBe(1742);
    expect(Object.fromEntries(targetCounts(c.snapshot))).toEqual({ n1: 2150, n2: 2150, n3: 2150, n4: 1742 });
    expect(c.last).toMatchObject({ kind: 'skip', reason: 'within-threshold' });
  });

  it('reproduces the 64-shard vector of core 10.3', () => {
    const settings = defaultPlannerSettings(64);
    expect(settings.batchSize).toBe(1);
    const start = addNode(cluster({ numShards: 64, nodes: NODES, shards: roundRobinValue(NODES) }), 'n4');
    const c = converge(start, (s) => planCount(s, settings));
    expect(c.rounds).toBe(14);
    expect(Object.fromEntries(targetCounts(c.snapshot))).toEqual({ n1: 16, n2: 17, n3: 17, n4: 14 });
  });

  it('keeps flags and compares the ModRevision it read', () => {
    const snap = cluster({
      numShards: 8,
      nodes: ['a', 'b'],
      shards: (id) => ({ target: 'a', current: 'a', flags: id === 0 ? ['readonly'] : [] }),
    });
    const r = planCount(snap, { batchSize: 1, imbalanceThreshold: 0.2 });
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    const [w] = r.writes;
    expect(w).toMatchObject({ shardId: 0, expectedModRevision: snap.shards[0]!.modRevision });
    expect(w!.after).toEqual({ target: 'b', current: 'a', flags: ['readonly'] });
  });

  it('says why it does nothing', () => {
    const settings = defaultPlannerSettings(64);
    expect(planCount(cluster({ numShards: 64, nodes: [] }), settings)).toMatchObject({ kind: 'skip', reason: 'no-nodes' });
    const partial = cluster({ numShards: 64, nodes: NODES, shards: (id) => (id < 60 ? roundRobinValue(NODES)(id) : undefined) });
    expect(planCount(partial, settings)).toMatchObject({ kind: 'skip', reason: 'not-all-assigned', text: '4 shards have no target yet' });
    const even = cluster({ numShards: 64, nodes: ['a', 'b'], shards: roundRobinValue(['a', 'b']) });
    expect(planCount(even, settings)).toMatchObject({ kind: 'skip', reason: 'balanced' });
    const pinnedOnly = cluster({
      numShards: 64,
      nodes: ['a', 'b'],
      shards: (id) => (id < 40 ? { target: 'a', current: 'a', flags: ['pinned'] } : { target: 'b', current: 'b', flags: [] }),
    });
    expect(planCount(pinnedOnly, settings)).toMatchObject({ kind: 'skip', reason: 'only-pinned-movable' });
  });

  it('sends nothing to a draining or stopping node and does not count its shards', () => {
    const snap = cluster({
      numShards: 64,
      nodes: ['a', 'b', 'c', 'd'],
      drained: ['c'],
      stopping: ['d'],
      shards: (id) => ({ target: id < 48 ? 'a' : 'c', current: id < 48 ? 'a' : 'c', flags: [] }),
    });
    const r = planCount(snap, { batchSize: 64, imbalanceThreshold: 0.2 });
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    expect(new Set(r.writes.map((w) => w.after.target))).toEqual(new Set(['b']));
    // 48 shards counted on a, 0 on b: ideal 32, limit 6.4; moves stop once a - b <= 6.
    expect(r.writes.length).toBe(21);
  });
});
