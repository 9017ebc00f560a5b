import { describe, expect, it } from 'vitest';
import type { LoadRecord } from '../../../../src/core/keyspace/records.js';
import { planCount } from '../../../../src/core/planner/count.js';
import { planLoad } from '../../../../src/core/planner/load.js';
import { defaultPlannerSettings, type PlannerSettings } from '../../../../src/core/planner/settings.js';
import { shardLoads } from '../../../../src/core/planner/shardLoad.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { cluster, converge, roundRobinValue } from './fixtures.js';

const NODES = ['a:1', 'b:1', 'c:1', 'd:1'];

function report(shards: [number, number, number][], extra: Partial<LoadRecord> = {}): LoadRecord {
  return { at: 1, cpu: null, rssBytes: null, shards, truncated: 0, ...extra };
}

/** Call rate per node by target, from a per-shard rate. */
function nodeCalls(snapshot: ClusterSnapshot, rate: (id: number) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of snapshot.shards) if (e !== undefined) out.set(e.target, (out.get(e.target) ?? 0) + rate(e.id));
  return out;
}

const settings: PlannerSettings = defaultPlannerSettings(64);

describe('load strategy', () => {
  it('spreads a hot shard set that count leaves where it is', () => {
    // Count-balanced (16 shards each) but every shard of a is hot.
    const rate = (id: number): number => (id % 4 === 0 ? 100 : 1);
    const loads = Object.fromEntries(
      NODES.map((n, i) => [n, report(Array.from({ length: 16 }, (_, k) => 4 * k + i).map((id) => [id, 1, rate(id)] as [number, number, number]))]),
    );
    const snap = cluster({ numShards: 64, nodes: NODES, shards: roundRobinValue(NODES), loads });
    expect(planCount(snap, settings)).toMatchObject({ kind: 'skip', reason: 'balanced' });
    const c = converge(snap, (s, state) => planLoad(s, settings, snap.load, state));
    expect(c.moves).toBeGreaterThan(0);
    const calls = [...nodeCalls(c.snapshot, rate).values()];
    const mean = calls.reduce((x, y) => x + y) / calls.length;
    expect(Math.max(...calls) / mean).toBeLessThan(1 + settings.load.band);
    expect(c.last).toMatchObject({ kind: 'skip', reason: 'within-hysteresis' });
  });

  it('never gives a node more than twice its share of shards, however cool it is', () => {
    // a holds 58 idle shards (base load only), b, c and d two busy ones each: by load alone a is the coolest node and
    // would take busy shards on top of its 58, four times its share of 16.
    const owner = (id: number): string => (id < 58 ? 'a:1' : NODES[1 + ((id - 58) % 3)]!);
    const loads = { 'x:1': report(Array.from({ length: 64 }, (_, id) => [id, 1, id < 58 ? 0 : 100] as [number, number, number])) };
    const snap = cluster({ numShards: 64, nodes: NODES, shards: (id) => ({ target: owner(id), current: owner(id), flags: [] }), loads });
    const c = converge(snap, (s, state) => planLoad(s, { load: { ...settings.load, moveBudget: 64 } }, snap.load, state));
    expect(c.snapshot.shards.filter((e) => e?.target === 'a:1')).toHaveLength(58);
  });

  it('does nothing inside the band, and aims for half the band once started', () => {
    // a carries 16 + 1.75 against an ideal of 16.44: 8% over, inside ±10%, outside ±5%.
    const rate = (id: number): number => (id === 0 ? 2.75 : 1);
    const loads = { 'x:1': report(Array.from({ length: 64 }, (_, id) => [id, 1, rate(id)] as [number, number, number])) };
    const snap = cluster({ numShards: 64, nodes: NODES, shards: roundRobinValue(NODES), loads });
    const tuned = { load: { ...settings.load, baseLoad: 0 } };
    expect(planLoad(snap, tuned, snap.load, 'idle')).toMatchObject({ kind: 'skip', reason: 'within-hysteresis' });
    expect(planLoad(snap, tuned, snap.load, 'active')).toMatchObject({ kind: 'write' });
  });

  it('passes over one hot shard that cannot move without overshooting', () => {
    // Shard 0 alone is above a's ideal; everything else is even.
    const loads = { 'x:1': report(Array.from({ length: 64 }, (_, id) => [id, 1, id === 0 ? 1000 : 1] as [number, number, number])) };
    const snap = cluster({
      numShards: 64,
      nodes: NODES,
      shards: (id) => {
        const node = id === 0 ? 'a:1' : NODES[1 + (id % 3)]!;
        return { target: node, current: node, flags: [] };
      },
      loads,
    });
    const r = planLoad(snap, settings);
    expect(r).toMatchObject({ kind: 'skip', reason: 'no-improving-move' });
    expect(r.kind === 'skip' && r.text).toMatch(/band ±0.1 \(calls\)/);
  });

  it('counts shards equally without reports, and never moves pinned ones', () => {
    const snap = cluster({
      numShards: 64,
      nodes: NODES,
      shards: (id) => ({ target: id < 40 ? 'a:1' : 'b:1', current: 'a:1', flags: id < 20 ? ['pinned'] : [] }),
    });
    const r = planLoad(snap, settings);
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    expect(r.text).toMatch(/no load reports/);
    expect(r.writes.every((w) => w.shardId >= 20)).toBe(true);
    const pinnedOnly = cluster({ numShards: 8, nodes: ['a:1', 'b:1'], shards: (id) => ({ target: 'a:1', current: 'a:1', flags: id < 7 ? ['pinned'] : [] }) });
    expect(planLoad(pinnedOnly, settings)).toMatchObject({ kind: 'write', writes: [{ shardId: 7 }] });
    expect(planLoad(cluster({ numShards: 8, nodes: ['a:1', 'b:1'], shards: () => ({ target: 'a:1', current: 'a:1', flags: ['pinned'] }) }), settings)).toMatchObject({
      kind: 'skip',
      reason: 'only-pinned-movable',
    });
  });
});

describe('shard loads', () => {
  const snap = (loads: Record<string, LoadRecord>): ClusterSnapshot =>
    cluster({ numShards: 4, nodes: ['a:1', 'b:1'], shards: (id) => ({ target: 'a:1', current: id < 2 ? 'a:1' : 'b:1', flags: [] }), loads });
  const only = { metric: 'calls' as const, baseLoad: 0, cpuWeight: 0, memoryWeight: 0 };

  it("prefers the current owner's report during a handover, else the newest", () => {
    const s = snap({
      'a:1': report([[0, 1, 10], [2, 1, 99]], { at: 5 }),
      'b:1': report([[0, 1, 70], [2, 1, 30]], { at: 9 }),
    });
    expect([...shardLoads(s, s.load, only).perShard]).toEqual([0.25, 0, 0.75, 0]);
  });

  it('mixes CPU (spread by call rate) and memory (spread by objects) only when every report has them', () => {
    const both = snap({ 'a:1': report([[0, 3, 1], [1, 1, 3]], { cpu: 2, rssBytes: 100 }), 'b:1': report([[2, 0, 4]], { cpu: 2, rssBytes: 100 }) });
    const l = shardLoads(both, both.load, { ...only, cpuWeight: 0.5, memoryWeight: 0.25 });
    expect(l.signals).toEqual(['calls', 'cpu', 'memory']);
    // calls 1,3,4 of 8; cpu a's 2 cores split 1:3, b's to shard 2, of 4; memory a split 3:1, b all, of 200.
    const expected = [0.125 + 0.0625 + 0.09375, 0.375 + 0.1875 + 0.03125, 0.5 + 0.25 + 0.125, 0];
    expected.forEach((x, id) => expect(l.perShard[id]).toBeCloseTo(x, 9));
    // An idle cluster: node CPU and memory alone are background work that moving shards cannot change.
    const idle = snap({ 'a:1': report([], { cpu: 2, rssBytes: 100 }), 'b:1': report([], { cpu: 0.5, rssBytes: 100 }) });
    expect(shardLoads(idle, idle.load, { ...only, cpuWeight: 0.5, memoryWeight: 0.25 }).signals).toEqual([]);
    const partial = snap({ 'a:1': report([[0, 1, 1]], { cpu: 2 }), 'b:1': report([[2, 1, 1]]) });
    expect(shardLoads(partial, partial.load, { ...only, cpuWeight: 0.5 }).signals).toEqual(['calls']);
  });

  it('gives every shard a base load, and weight 1 each without reports', () => {
    const s = snap({ 'a:1': report([[0, 5, 0]]) });
    expect([...shardLoads(s, s.load, { ...only, metric: 'objects', baseLoad: 0.2 }).perShard]).toEqual([1.05, 0.05, 0.05, 0.05]);
    expect([...shardLoads(s, s.load, { ...only, baseLoad: 0.2 }).perShard]).toEqual([1, 1, 1, 1]);
  });
});
