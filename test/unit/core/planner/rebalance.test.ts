import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LoadRecord } from '../../../../src/core/keyspace/records.js';
import { isPinned } from '../../../../src/core/keyspace/shardValue.js';
import { planCount } from '../../../../src/core/planner/count.js';
import type { PlanResult } from '../../../../src/core/planner/plan.js';
import { planReassign } from '../../../../src/core/planner/reassign.js';
import { rebalanceStrategy, STRATEGY_NAMES } from '../../../../src/core/planner/rebalance.js';
import { defaultPlannerSettings, type PlannerSettings } from '../../../../src/core/planner/settings.js';
import { planWeighted } from '../../../../src/core/planner/weighted.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { cluster, converge, targetCounts } from './fixtures.js';

interface Scenario {
  snapshot: ClusterSnapshot;
  settings: PlannerSettings;
  nodes: string[];
}

/** Random clusters: 1-6 alive nodes (weights 1-4, some draining or stopping), a dead node, pinned shards, loads. */
const scenario = (opts: { pinned: boolean; weighted: boolean; loads: boolean; unassigned: boolean }): fc.Arbitrary<Scenario> =>
  fc
    .record({
      numShards: fc.integer({ min: 8, max: 200 }),
      nodeCount: fc.integer({ min: 1, max: 6 }),
      weights: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 6, maxLength: 6 }),
      roles: fc.array(fc.constantFrom('running', 'running', 'running', 'drained', 'stopping'), { minLength: 6, maxLength: 6 }),
      placement: fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
      pins: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 200, maxLength: 200 }),
      calls: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 100_000 })), {
        minLength: 200,
        maxLength: 200,
      }),
      cpu: fc.option(fc.double({ min: 0, max: 8, noNaN: true })),
      batchSize: fc.integer({ min: 1, max: 40 }),
      threshold: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
      band: fc.double({ min: 0.02, max: 0.4, noNaN: true }),
    })
    .map((r) => {
      const nodes = Array.from({ length: r.nodeCount }, (_, i) => `n${i}:1`);
      const targets = [...nodes, 'dead'];
      const value = (id: number): { target: string; current: string; flags: string[] } => {
        const pick = r.placement[id]!;
        const target = opts.unassigned && pick % 11 === 0 ? '' : targets[pick % targets.length]!;
        return { target, current: target === '' ? '' : target, flags: opts.pinned && r.pins[id]! < 2 ? ['pinned'] : [] };
      };
      const loads: Record<string, LoadRecord> = {};
      if (opts.loads) {
        for (const n of nodes) {
          const shards: [number, number, number][] = [];
          for (let id = 0; id < r.numShards; id++) if (value(id).current === n) shards.push([id, r.calls[id]! % 97, r.calls[id]!]);
          loads[n] = { at: 1, cpu: r.cpu, rssBytes: null, shards, truncated: 0 };
        }
      }
      const settings = defaultPlannerSettings(r.numShards);
      return {
        nodes,
        settings: {
          ...settings,
          batchSize: r.batchSize,
          imbalanceThreshold: r.threshold,
          load: { ...settings.load, band: r.band, moveBudget: r.batchSize },
        },
        snapshot: cluster({
          numShards: r.numShards,
          nodes,
          shards: value,
          weights: opts.weighted ? Object.fromEntries(nodes.map((n, i) => [n, r.weights[i]!])) : undefined,
          drained: nodes.filter((_, i) => r.roles[i] === 'drained'),
          stopping: nodes.filter((_, i) => r.roles[i] === 'stopping'),
          loads,
        }),
      };
    });

const planners: Record<string, (s: Scenario, state: 'idle' | 'active') => PlanResult> = {
  reassign: (s) => planReassign(s.snapshot, s.settings),
  ...Object.fromEntries(
    STRATEGY_NAMES.map((name) => [name, (s: Scenario, state: 'idle' | 'active') => rebalanceStrategy(name).plan(s.snapshot, s.settings, s.snapshot.load, state)]),
  ),
};

describe('rebalance strategies and reassign: properties', () => {
  for (const [name, plan] of Object.entries(planners)) {
    it(`${name}: pinned shards never move, flags are kept, moves stay within the round budget`, () => {
      fc.assert(
        fc.property(scenario({ pinned: true, weighted: true, loads: true, unassigned: name === 'reassign' }), fc.boolean(), (s, active) => {
          const r = plan(s, active ? 'active' : 'idle');
          if (r.kind === 'skip') return;
          const bad = r.writes.filter(
            (w) =>
              (w.before.target !== '' && isPinned(w.before) && w.after.target !== w.before.target) ||
              w.after.flags.join() !== w.before.flags.join() ||
              w.expectedModRevision !== (s.snapshot.shards[w.shardId]?.modRevision ?? 0),
          );
          expect(bad).toEqual([]);
          if (name === 'count' || name === 'weighted') expect(r.writes.length).toBeLessThanOrEqual(s.settings.batchSize);
          if (name === 'load') expect(r.writes.length).toBeLessThanOrEqual(s.settings.load.moveBudget);
        }),
        { numRuns: 150 },
      );
    });
  }

  for (const name of STRATEGY_NAMES) {
    it(`${name}: repeated planning on the resulting state converges and stops`, () => {
      fc.assert(
        fc.property(scenario({ pinned: true, weighted: true, loads: true, unassigned: false }), (s) => {
          // The planner never sees the same mapping twice (no cycle), stops, and stays stopped for a fresh leader.
          const seen = new Set<string>();
          const c = converge(
            s.snapshot,
            (snapshot, state) => {
              const m = snapshot.shards.map((e) => e?.target ?? '').join(',');
              if (seen.has(m)) throw new Error(`mapping repeated: ${m}`);
              seen.add(m);
              return rebalanceStrategy(name).plan(snapshot, s.settings, s.snapshot.load, state);
            },
            500,
          );
          expect(c.last.kind).toBe('skip');
          expect(rebalanceStrategy(name).plan(c.snapshot, s.settings, s.snapshot.load, 'idle').kind).toBe('skip');
        }),
        { numRuns: 60 },
      );
    });
  }

  it('with equal weights and no load, weighted and count both end within the threshold', () => {
    fc.assert(
      fc.property(scenario({ pinned: false, weighted: false, loads: false, unassigned: false }), (s) => {
        const counted = converge(s.snapshot, (snapshot) => planCount(snapshot, s.settings), 2000);
        const weighted = converge(s.snapshot, (snapshot, state) => planWeighted(snapshot, s.settings, state), 2000);
        for (const c of [counted, weighted]) {
          const eligible = c.snapshot.nodes.size - c.snapshot.drains.size - [...c.snapshot.nodeInfo.values()].filter((i) => i.state === 'stopping').length;
          const counts = targetCounts(c.snapshot);
          const perNode = s.nodes.filter((n) => !c.snapshot.drains.has(n) && c.snapshot.nodeInfo.get(n)?.state !== 'stopping').map((n) => counts.get(n) ?? 0);
          expect(perNode.length).toBe(eligible);
          if (perNode.length === 0) continue;
          const total = perNode.reduce((a, b) => a + b, 0);
          // count measures against numShards / n (upstream), weighted against the shards it can see.
          const ideal = c === counted ? s.snapshot.numShards / perNode.length : total / perNode.length;
          const spread = Math.max(...perNode) - Math.min(...perNode);
          expect(spread <= 1 || spread <= s.settings.imbalanceThreshold * ideal).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});

