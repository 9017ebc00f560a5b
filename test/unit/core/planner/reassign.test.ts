import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareAddresses } from '../../../../src/core/planner/context.js';
import { roundRobinTarget } from '../../../../src/core/planner/placement.js';
import { planReassign } from '../../../../src/core/planner/reassign.js';
import { Rendezvous } from '../../../../src/core/planner/rendezvous.js';
import { applyWrites, cluster, remove, targetCounts } from './fixtures.js';

const nodeName = fc.stringMatching(/^[a-z][a-z0-9.:-]{0,11}$/);

describe('rendezvous hashing', () => {
  it('moves only the shards whose winner changes when a node joins or leaves', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(nodeName, { minLength: 2, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 12, maxLength: 12 }),
        (nodes, weights) => {
          const rest = nodes.slice(1);
          const before = new Rendezvous(rest, weights.slice(1, nodes.length));
          const after = new Rendezvous(nodes, weights.slice(0, nodes.length));
          // Join of nodes[0]: a shard keeps its winner or goes to the joiner. Read backwards this is a
          // leave: only the shards of the leaver change winner.
          const changed: number[] = [];
          for (let s = 0; s < 512; s++) {
            const now = after.winner(s);
            if (now !== 0 && nodes[now] !== rest[before.winner(s)]) changed.push(s);
          }
          expect(changed).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives each node a share close to its weight', () => {
    const nodes = ['a:1', 'b:1', 'c:1'];
    const r = new Rendezvous(nodes, [1, 2, 4]);
    const counts = [0, 0, 0];
    for (let s = 0; s < 70_000; s++) counts[r.winner(s)]!++;
    expect(counts.map((c) => Math.round((c / 70_000) * 7 * 10) / 10)).toEqual([1, 2, 4]);
  });

  it('is the same ordering with equal weights whatever their value', () => {
    const nodes = ['x:1', 'y', 'z', 'w'];
    const one = new Rendezvous(nodes, [1, 1, 1, 1]);
    const three = new Rendezvous(nodes, [3, 3, 3, 3.0000001]);
    for (let s = 0; s < 2000; s++) expect(three.winner(s)).toBe(one.winner(s));
  });
});

describe('reassign', () => {
  it('keeps the upstream round-robin baseline (docs/UPSTREAM.md §14.3, initial mapping)', () => {
    const sorted = ['b:1', 'a:1', 'c:1'].sort(compareAddresses);
    expect([0, 1, 2, 3, 4].map((id) => roundRobinTarget(sorted, id))).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'b:1']);
    const snap = cluster({ numShards: 6, nodes: ['b:1', 'a:1', 'c:1'] });
    const r = planReassign(snap, { assignment: 'round-robin' });
    expect(r.kind === 'write' && r.writes.map((w) => w.after.target)).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'b:1', 'c:1']);
  });

  it('sorts addresses by UTF-8 bytes as Go does', () => {
    const astral = 'n\u{1F600}';
    const highBmp = 'n\uFF21';
    expect([astral, highBmp, 'nz'].sort(compareAddresses)).toEqual(['nz', highBmp, astral]);
  });

  it('creates an initial mapping proportional to the weights, with create-only CAS', () => {
    const snap = cluster({ numShards: 8192, nodes: ['a:1', 'b:1', 'c:1'], weights: { 'a:1': 1, 'b:1': 2, 'c:1': 4 } });
    const r = planReassign(snap, { assignment: 'rendezvous' });
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    expect(r.writes.every((w) => w.expectedModRevision === 0 && w.after.current === '')).toBe(true);
    const counts = targetCounts(applyWrites(snap, r.writes));
    // Each node is capped at ceil(ideal); the caps leave 2 shards of slack in all.
    for (const [node, weight] of [['a:1', 1], ['b:1', 2], ['c:1', 4]] as const) {
      const ideal = (8192 * weight) / 7;
      expect(counts.get(node)).toBeLessThanOrEqual(Math.ceil(ideal));
      expect(counts.get(node)).toBeGreaterThanOrEqual(Math.ceil(ideal) - 2);
    }
  });

  it('adopts an eligible current owner, skips pinned shards with a target, moves off draining nodes and dead ones', () => {
    const snap = cluster({
      numShards: 8,
      nodes: ['a:1', 'b:1', 'd:1', 's:1'],
      drained: ['d:1'],
      stopping: ['s:1'],
      shards: (id) =>
        [
          { target: '', current: 'b:1', flags: [] }, // adopt b
          { target: 'dead', current: 'dead', flags: ['pinned'] }, // pinned to dead: left alone
          { target: '', current: '', flags: ['pinned'] }, // pinned without target: assigned
          { target: 'dead', current: 'a:1', flags: ['readonly'] }, // orphan: new target, flags kept
          { target: 'd:1', current: 'd:1', flags: [] }, // draining
          { target: 's:1', current: 's:1', flags: [] }, // stopping: it hands this one over itself
          { target: 'a:1', current: 'a:1', flags: [] },
          { target: '', current: 'd:1', flags: [] }, // current draining: not adopted
        ][id],
    });
    const r = planReassign(snap, { assignment: 'rendezvous' });
    expect(r.kind).toBe('write');
    if (r.kind !== 'write') return;
    expect(r.writes.map((w) => w.shardId)).toEqual([0, 2, 3, 4, 7]);
    for (const w of r.writes) expect(['a:1', 'b:1']).toContain(w.after.target);
    expect(r.writes[0]!.after.target).toBe('b:1');
    expect(r.writes[2]!.after).toMatchObject({ current: 'a:1', flags: ['readonly'] });
    expect(r.text).toMatch(/1 adopt their current owner, 1 leave nodes that are not alive, 1 leave draining or stopping nodes, 2 had no target/);
  });

  it('leaves a stopping node the shards it owns while it is alive, and takes the others it is the target of', () => {
    const shards = (id: number) =>
      [
        { target: 's:1', current: 's:1', flags: [] }, // owned: handed over by s itself, released in the same write
        { target: 's:1', current: 'a:1', flags: [] }, // on its way to s: retargeted here
        { target: 's:1', current: '', flags: [] }, // not claimed yet: retargeted here
      ][id];
    const alive = cluster({ numShards: 3, nodes: ['a:1', 's:1'], stopping: ['s:1'], shards });
    const r = planReassign(alive, { assignment: 'rendezvous' });
    expect(r.kind === 'write' ? r.writes.map((w) => [w.shardId, w.after.target]) : r).toEqual([
      [1, 'a:1'],
      [2, 'a:1'],
    ]);
    // Gone before it handed everything over (a crash, or its shutdown timeout): its shards are a dead node's.
    const gone = cluster({ numShards: 3, nodes: ['a:1'], shards });
    const after = planReassign(gone, { assignment: 'rendezvous' });
    expect(after.kind === 'write' ? after.writes.map((w) => w.shardId) : after).toEqual([0, 1, 2]);
  });

  it('on a leave moves exactly the shards of the leaver and keeps the rest balanced', () => {
    const nodes = Array.from({ length: 8 }, (_, i) => `node-${i}:1`);
    let snap = cluster({ numShards: 4096, nodes });
    const initial = planReassign(snap, { assignment: 'rendezvous' });
    if (initial.kind !== 'write') throw new Error('expected writes');
    snap = applyWrites(snap, initial.writes);
    const leaver = 'node-3:1';
    const owned = targetCounts(snap).get(leaver);
    snap = remove(snap, `nodes/${leaver}`);
    const r = planReassign(snap, { assignment: 'rendezvous' });
    if (r.kind !== 'write') throw new Error('expected writes');
    expect(r.writes.length).toBe(owned);
    expect(r.writes.every((w) => w.before.target === leaver)).toBe(true);
    // Survivors are capped at ceil(4096 / 7) = 586; 7 * 586 - 4096 = 6 shards of slack.
    const counts = [...targetCounts(applyWrites(snap, r.writes)).values()];
    expect(Math.max(...counts)).toBeLessThanOrEqual(586);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(580);
  });

  it('says why it does nothing', () => {
    expect(planReassign(cluster({ numShards: 4, nodes: [] }), { assignment: 'rendezvous' })).toMatchObject({ reason: 'no-nodes' });
    expect(planReassign(cluster({ numShards: 4, nodes: ['a:1'], drained: ['a:1'] }), { assignment: 'rendezvous' })).toMatchObject({
      reason: 'no-nodes',
    });
    const done = cluster({ numShards: 4, nodes: ['a:1'], shards: () => ({ target: 'a:1', current: '', flags: [] }) });
    expect(planReassign(done, { assignment: 'rendezvous' })).toMatchObject({ kind: 'skip', reason: 'all-assigned' });
  });
});
