import { describe, expect, it } from 'vitest';
import { planCount } from '../../../../src/core/planner/count.js';
import { plannerContext } from '../../../../src/core/planner/context.js';
import { Rendezvous } from '../../../../src/core/planner/rendezvous.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { planWeighted } from '../../../../src/core/planner/weighted.js';
import { addNode, cluster, converge, roundRobinValue, targetCounts } from './fixtures.js';

const NODES = ['n1:1', 'n2:1', 'n3:1'];

describe('weighted strategy', () => {
  it('balances a join fully instead of stopping at the threshold (where count ends at 2150/2150/2150/1742)', () => {
    const settings = defaultPlannerSettings(8192);
    const start = addNode(cluster({ numShards: 8192, nodes: NODES, shards: roundRobinValue(NODES) }), 'n4:1');
    const c = converge(start, (s, state) => planWeighted(s, settings, state));
    expect(Object.fromEntries(targetCounts(c.snapshot))).toEqual({ 'n1:1': 2048, 'n2:1': 2048, 'n3:1': 2048, 'n4:1': 2048 });
    expect(c.moves).toBe(2048); // exactly what n4 must receive: nothing moves twice
    expect(c.rounds).toBe(32);
    expect(c.last).toMatchObject({ kind: 'skip', reason: 'balanced' });
    // n4 receives the shards it claims most strongly: mostly those whose rendezvous winner is n4.
    const snap = c.snapshot;
    const ctx = plannerContext(snap);
    const r = new Rendezvous(ctx.eligible, ctx.weights);
    const n4 = ctx.index.get('n4:1')!;
    let won = 0;
    for (const e of snap.shards) if (e?.target === 'n4:1' && r.winner(e.id) === n4) won++;
    expect(won / 2048).toBeGreaterThan(0.6);
  });

  it('gives each node a share proportional to its weight', () => {
    const settings = defaultPlannerSettings(4096);
    const snap = cluster({ numShards: 4096, nodes: ['a:1', 'b:1', 'c:1'], weights: { 'a:1': 1, 'b:1': 2, 'c:1': 4 }, shards: roundRobinValue(['a:1', 'b:1', 'c:1']) });
    const c = converge(snap, (s, state) => planWeighted(s, settings, state));
    const counts = targetCounts(c.snapshot);
    expect(Math.abs(counts.get('a:1')! - 4096 / 7)).toBeLessThan(1);
    expect(Math.abs(counts.get('b:1')! - (2 * 4096) / 7)).toBeLessThan(1);
    expect(Math.abs(counts.get('c:1')! - (4 * 4096) / 7)).toBeLessThan(1);
  });

  it('passes over a full node that holds only pinned shards (docs/UPSTREAM.md §13.11)', () => {
    // a: 30 pinned, b: 26 movable, c: 8.
    const snap = cluster({
      numShards: 64,
      nodes: ['a:1', 'b:1', 'c:1'],
      shards: (id) =>
        id < 30
          ? { target: 'a:1', current: 'a:1', flags: ['pinned'] }
          : { target: id < 56 ? 'b:1' : 'c:1', current: id < 56 ? 'b:1' : 'c:1', flags: [] },
    });
    const settings = { batchSize: 64, imbalanceThreshold: 0.2 };
    expect(planCount(snap, settings)).toMatchObject({ kind: 'skip', reason: 'only-pinned-movable' });
    const r = planWeighted(snap, settings);
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    expect(r.writes.every((w) => w.before.target === 'b:1' && w.after.target === 'c:1')).toBe(true);
    expect(r.writes.length).toBe(9); // b 17, c 17
    const onlyPinned = cluster({
      numShards: 8,
      nodes: ['a:1', 'b:1'],
      shards: (id) => (id < 6 ? { target: 'a:1', current: 'a:1', flags: ['pinned'] } : { target: 'b:1', current: 'b:1', flags: [] }),
    });
    expect(planWeighted(onlyPinned, settings)).toMatchObject({ kind: 'skip', reason: 'only-pinned-movable' });
  });

  it('starts only beyond the threshold, but finishes a started round (hysteresis)', () => {
    // 34/30 of 64: spread 4/32 = 0.125 of the ideal, within 0.2.
    const snap = cluster({ numShards: 64, nodes: ['a:1', 'b:1'], shards: (id) => ({ target: id < 34 ? 'a:1' : 'b:1', current: 'a:1', flags: [] }) });
    const settings = { batchSize: 8, imbalanceThreshold: 0.2 };
    expect(planWeighted(snap, settings, 'idle')).toMatchObject({ kind: 'skip', reason: 'within-threshold' });
    const r = planWeighted(snap, settings, 'active');
    expect(r.kind === 'write' && r.writes.length).toBe(2);
    expect(planWeighted(snap, { ...settings, batchSize: 1 }, 'active')).toMatchObject({ kind: 'write' });
  });

  it('says why it does nothing', () => {
    const settings = { batchSize: 8, imbalanceThreshold: 0.2 };
    expect(planWeighted(cluster({ numShards: 8, nodes: [] }), settings)).toMatchObject({ reason: 'no-nodes' });
    expect(planWeighted(cluster({ numShards: 8, nodes: ['a:1'] }), settings)).toMatchObject({ reason: 'not-all-assigned' });
    const even = cluster({ numShards: 9, nodes: ['a:1', 'b:1'], shards: roundRobinValue(['a:1', 'b:1']) });
    expect(planWeighted(even, settings, 'active')).toMatchObject({ kind: 'skip', reason: 'balanced' });
  });
});
