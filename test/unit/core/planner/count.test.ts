import { describe, expect, it } from 'vitest';
import { planCount } from '../../../../src/core/planner/count.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { addNode, cluster, converge, roundRobinValue, targetCounts } from './fixtures.js';

const NODES = ['n1:1', 'n2:1', 'n3:1'];

describe('count strategy (upstream RebalanceShards)', () => {
  it('reproduces the 8192-shard vector of docs/UPSTREAM.md §14.3', () => {
    const settings = defaultPlannerSettings(8192);
    expect(settings.batchSize).toBe(64);
    const start = addNode(cluster({ numShards: 8192, nodes: NODES, shards: roundRobinValue(NODES) }), 'n4:1');
    const first = planCount(start, settings);
    expect(first.kind).toBe('write');
    if (first.kind !== 'write') return;
    expect(first.writes.length).toBe(64);
    expect(first.writes.slice(0, 6).map((w) => [w.shardId, w.before.target])).toEqual([
      [0, 'n1:1'],
      [1, 'n2:1'],
      [3, 'n1:1'],
      [4, 'n2:1'],
      [2, 'n3:1'],
      [6, 'n1:1'],
    ]);
    expect(new Set(first.writes.map((w) => w.after.target))).toEqual(new Set(['n4:1']));
    const c = converge(start, (s) => planCount(s, settings));
    expect(c.rounds).toBe(28);
    expect(c.moves).toBe(1742);
    expect(Object.fromEntries(targetCounts(c.snapshot))).toEqual({ 'n1:1': 2150, 'n2:1': 2150, 'n3:1': 2150, 'n4:1': 1742 });
    expect(c.last).toMatchObject({ kind: 'skip', reason: 'within-threshold' });
  });

  it('reproduces the 64-shard vector of docs/UPSTREAM.md §14.3', () => {
    const settings = defaultPlannerSettings(64);
    expect(settings.batchSize).toBe(1);
    const start = addNode(cluster({ numShards: 64, nodes: NODES, shards: roundRobinValue(NODES) }), 'n4:1');
    const c = converge(start, (s) => planCount(s, settings));
    expect(c.rounds).toBe(14);
    expect(Object.fromEntries(targetCounts(c.snapshot))).toEqual({ 'n1:1': 16, 'n2:1': 17, 'n3:1': 17, 'n4:1': 14 });
  });

  it('keeps flags and compares the ModRevision it read', () => {
    const snap = cluster({
      numShards: 8,
      nodes: ['a:1', 'b:1'],
      shards: (id) => ({ target: 'a:1', current: 'a:1', flags: id === 0 ? ['readonly'] : [] }),
    });
    const r = planCount(snap, { batchSize: 1, imbalanceThreshold: 0.2 });
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    const [w] = r.writes;
    expect(w).toMatchObject({ shardId: 0, expectedModRevision: snap.shards[0]!.modRevision });
    expect(w!.after).toEqual({ target: 'b:1', current: 'a:1', flags: ['readonly'] });
  });

  it('says why it does nothing', () => {
    const settings = defaultPlannerSettings(64);
    expect(planCount(cluster({ numShards: 64, nodes: [] }), settings)).toMatchObject({ kind: 'skip', reason: 'no-nodes' });
    const partial = cluster({ numShards: 64, nodes: NODES, shards: (id) => (id < 60 ? roundRobinValue(NODES)(id) : undefined) });
    expect(planCount(partial, settings)).toMatchObject({ kind: 'skip', reason: 'not-all-assigned', text: '4 shards have no target yet' });
    const even = cluster({ numShards: 64, nodes: ['a:1', 'b:1'], shards: roundRobinValue(['a:1', 'b:1']) });
    expect(planCount(even, settings)).toMatchObject({ kind: 'skip', reason: 'balanced' });
    const pinnedOnly = cluster({
      numShards: 64,
      nodes: ['a:1', 'b:1'],
      shards: (id) => (id < 40 ? { target: 'a:1', current: 'a:1', flags: ['pinned'] } : { target: 'b:1', current: 'b:1', flags: [] }),
    });
    expect(planCount(pinnedOnly, settings)).toMatchObject({ kind: 'skip', reason: 'only-pinned-movable' });
  });

  it('sends nothing to a draining or stopping node and does not count its shards', () => {
    const snap = cluster({
      numShards: 64,
      nodes: ['a:1', 'b:1', 'c:1', 'd:1'],
      drained: ['c:1'],
      stopping: ['d:1'],
      shards: (id) => ({ target: id < 48 ? 'a:1' : 'c:1', current: id < 48 ? 'a:1' : 'c:1', flags: [] }),
    });
    const r = planCount(snap, { batchSize: 64, imbalanceThreshold: 0.2 });
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    expect(new Set(r.writes.map((w) => w.after.target))).toEqual(new Set(['b:1']));
    // 48 shards counted on a, 0 on b: ideal 32, limit 6.4; moves stop once a - b <= 6.
    expect(r.writes.length).toBe(21);
  });
});
