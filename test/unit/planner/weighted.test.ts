import { describe, expect, it } from 'vitest';
import { planCount } from '../../../src/core/planner/count.js';
import { plannerContext } from '../../../src/core/planner/context.js';
import { Rendezvous } from '../../../src/core/planner/rendezvous.js';
import { defaultPlannerSettings } from '../../../src/core/planner/settings.js';
import { planWeighted } from '../../../src/core/planner/weighted.js';
import { addNode, cluster, converge, roundRobinValue, targetCounts } from './fixtures.js';

const NODES = ['n1', 'n2', 'n3'];

describe('weighted strategy', () => {
  it('balances a join fully instead of stopping at the threshold (where count ends at 2150/2150/2150/1742)', () => {
    const settings = defaultPlannerSettings(8192);
    const start = addNode(cluster({ numShards: 8192, nodes: NODES, shards: roundRobinValue(NODES) }), 'n4');
    const c = converge(start, (s, state) => planWeighted(s, settings, state));
    expect(Object.fromEntries(targetCounts(c.snapshot))).toEqual({ n1: 2048, n2: 2048, n3: 2048, n4: 2048 });
    expect(c.moves).toBe(2048); // exactly what n4 must receive: nothing moves twice
    expect(c.rounds).toBe(32);
    expect(c.last).toMatchObject({ kind: 'skip', reason: 'balanced' });
    // n4 receives the shards it claims most strongly: mostly those whose rendezvous winner is n4.
    const snap = c.snapshot;
    const ctx = plannerContext(snap);
    const r = new Rendezvous(ctx.eligible, ctx.weights);
    const n4 = ctx.index.get('n4')!;
    let won = 0;
    for (const e of snap.shards) if (e?.target === 'n4' && r.winner(e.id) === n4) won++;
    expect(won / 2048).toBeGreaterThan(0.6);
  });

  it('gives each node a share proportional to its weight', () => {
    const settings = defaultPlannerSettings(4096);
    const snap = cluster({ numShards: 4096, nodes: ['a', 'b', 'c'], weights: { a: 1, b: 2, c: 4 }, shards: roundRobinValue(['a', 'b', 'c']) });
    const c = converge(snap, (s, state) => planWeighted(s, settings, state));
    const counts = targetCounts(c.snapshot);
    expect(Math.abs(counts.get('a')! - 4096 / 7)).toBeLessThan(1);
    expect(Math.abs(counts.get('b')! - (2 * 4096) / 7)).toBeLessThan(1);
    expect(Math.abs(counts.get('c')! - (4 * 4096) / 7)).toBeLessThan(1);
  });

  it('passes over a full node that holds only pinned shards (upstream defect 11)', () => {
    // a: 30 pinned, b: 26 movable, c: 8.
    const snap = cluster({
      numShards: 64,
      nodes: ['a', 'b', 'c'],
      shards: (id) =>
        id < 30
          ? { target: 'a', current: 'a', flags: ['pinned'] }
          : { target: id < 56 ? 'b' : 'c', current: id < 56 ? 'b' : 'c', flags: [] },
    });
    const settings = { batchSize: 64, imbalanceThreshold: 0.2 };
    expect(planCount(snap, settings)).toMatchObject({ kind: 'skip', reason: 'only-pinned-movable' });
    const r = planWeighted(snap, settings);
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    expect(r.writes.every((w) => w.before.target === 'b' && w.after.target === 'c')).toBe(true);
    expect(r.writes.length).toBe(9); // b 17, c 17
    const onlyPinned = cluster({
      numShards: 8,
      nodes: ['a', 'b'],
      shards: (id) => (id < 6 ? { target: 'a', current: 'a', flags: ['pinned'] } : { target: 'b', current: 'b', flags: [] }),
    });
    expect(planWeighted(onlyPinned, settings)).toMatchObject({ kind: 'skip', reason: 'only-pinned-movable' });
  });

  it('starts only beyond the threshold, but finishes a started round (hysteresis)', () => {
    // 34/30 of 64: spread 4/32 = 0.125 of the ideal, within 0.2.
    const snap = cluster({ numShards: 64, nodes: ['a', 'b'], shards: (id) => ({ target: id < 34 ? 'a' : 'b', current: 'a', flags: [] }) });
    const settings = { batchSize: 8, imbalanceThreshold: 0.2 };
    expect(planWeighted(snap, settings, 'idle')).toMatchObject({ kind: 'skip', reason: 'within-threshold' });
    const r = planWeighted(snap, settings, 'active');
    expect(r.kind === 'write' && r.writes.length).toBe(2);
    expect(planWeighted(snap, { ...settings, batchSize: 1 }, 'active')).toMatchObject({ kind: 'write' });
  });

  it('says why it does nothing', () => {
    const settings = { batchSize: 8, imbalanceThreshold: 0.2 };
    expect(planWeighted(cluster({ numShards: 8, nodes: [] }), settings)).toMatchObject({ reason: 'no-nodes' });
    expect(planWeighted(cluster({ numShards: 8, nodes: ['a'] }), settings)).toMatchObject({ reason: 'not-all-assigned' });
    const even = cluster({ numShards: 9, nodes: ['a', 'b'], shards: roundRobinValue(['a', 'b']) });
    expect(planWeighted(even, settings, 'active')).toMatchObject({ kind: 'skip', reason: 'balanced' });
  });
});
