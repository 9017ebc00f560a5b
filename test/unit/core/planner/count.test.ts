import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planCount } from '../../../../src/core/planner/count.js';
import { planReassign } from '../../../../src/core/planner/reassign.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { addNode, applyWrites, cluster, converge, roundRobinValue, targetCounts } from './fixtures.js';

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

/** max - min over the nodes of count / weighted ideal (numShards * w / Σw): what the threshold bounds. */
function weightedSpread(snapshot: ClusterSnapshot, weights: Readonly<Record<string, number>>): number {
  const counts = targetCounts(snapshot);
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const ratios = Object.entries(weights).map(([n, w]) => (counts.get(n) ?? 0) / ((snapshot.numShards * w) / total));
  return Math.max(...ratios) - Math.min(...ratios);
}

describe('count strategy with node weights', () => {
  const WEIGHTS = { 'a:1': 1, 'b:1': 2, 'c:1': 4 };

  it('keeps the weighted initial placement of 1:2:4 (it moved 1,588 shards to 2549/2549/3094 before)', () => {
    const settings = defaultPlannerSettings(8192);
    const empty = cluster({ numShards: 8192, nodes: Object.keys(WEIGHTS), weights: WEIGHTS });
    const initial = planReassign(empty, settings);
    if (initial.kind !== 'write') throw new Error(initial.text);
    const placed = applyWrites(empty, initial.writes);
    expect(Object.fromEntries(targetCounts(placed))).toEqual({ 'a:1': 1169, 'b:1': 2341, 'c:1': 4682 });
    const r = planCount(placed, settings);
    expect(r).toMatchObject({ kind: 'skip', reason: 'within-threshold' });
    expect(r.text).toContain('weighted shards');
  });

  it('moves an even mapping of 1:2:4 toward the weighted shares and stops within the threshold', () => {
    const settings = defaultPlannerSettings(8192);
    const nodes = Object.keys(WEIGHTS);
    const start = cluster({ numShards: 8192, nodes, weights: WEIGHTS, shards: roundRobinValue(nodes) });
    const c = converge(start, (s) => planCount(s, settings));
    expect(c.last).toMatchObject({ kind: 'skip', reason: 'within-threshold' });
    expect(weightedSpread(c.snapshot, WEIGHTS)).toBeLessThanOrEqual(settings.imbalanceThreshold);
    // Every move went from a lighter node toward the heaviest one or in between, never back: a: 2731 -> ~1170.
    const counts = targetCounts(c.snapshot);
    expect(counts.get('a:1')!).toBeLessThan(counts.get('b:1')!);
    expect(counts.get('b:1')!).toBeLessThan(counts.get('c:1')!);
    for (const r of c.results) if (r.kind === 'write') for (const w of r.writes) expect(w.after.target).not.toBe('a:1');
  });

  it('plans exactly as with weight 1 when every weight is the same, whatever its value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 16, max: 300 }),
        fc.array(fc.nat(), { minLength: 300, maxLength: 300 }),
        fc.constantFrom(0.5, 2, 3, 7.25, 1e6),
        fc.double({ min: 0.01, max: 0.5, noNaN: true }),
        (n, numShards, placement, weight, threshold) => {
          const nodes = Array.from({ length: n }, (_, i) => `n${i}:1`);
          const shards = (id: number): { target: string; current: string; flags: string[] } => {
            const t = nodes[placement[id]! % n]!;
            return { target: t, current: t, flags: placement[id]! % 13 === 0 ? ['pinned'] : [] };
          };
          const settings = { batchSize: 8, imbalanceThreshold: threshold };
          const plain = planCount(cluster({ numShards, nodes, shards }), settings);
          const weighted = planCount(cluster({ numShards, nodes, shards, weights: Object.fromEntries(nodes.map((a) => [a, weight])) }), settings);
          const moves = (r: typeof plain): unknown => (r.kind === 'write' ? r.writes.map((w) => [w.shardId, w.before.target, w.after.target]) : r.reason);
          expect(moves(weighted)).toEqual(moves(plain));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('with unequal weights ends within the threshold of the weighted shares, or where no move would help', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(1, 2, 3, 4, 0.5), { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 64, max: 1024 }),
        fc.array(fc.nat(), { minLength: 1024, maxLength: 1024 }),
        fc.double({ min: 0.05, max: 0.5, noNaN: true }),
        (ws, numShards, placement, threshold) => {
          const nodes = ws.map((_, i) => `n${i}:1`);
          const weights = Object.fromEntries(nodes.map((a, i) => [a, ws[i]!]));
          const start = cluster({
            numShards,
            nodes,
            weights,
            shards: (id) => ({ target: nodes[placement[id]! % nodes.length]!, current: nodes[placement[id]! % nodes.length]!, flags: [] }),
          });
          const c = converge(start, (s) => planCount(s, { batchSize: 16, imbalanceThreshold: threshold }), 2000);
          expect(c.last.kind).toBe('skip');
          if (c.last.kind === 'skip' && c.last.reason === 'within-threshold') {
            expect(weightedSpread(c.snapshot, weights)).toBeLessThanOrEqual(threshold + 1e-9);
          } else {
            expect(c.last).toMatchObject({ reason: 'balanced' });
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
