import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { imbalance } from '../../../../src/core/planner/imbalance.js';
import { type LeaderStepInput, leaderStep, rebalanceStateAfter } from '../../../../src/core/planner/leaderStep.js';
import { rebalanceStrategy } from '../../../../src/core/planner/rebalance.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { addNode, cluster, put, roundRobinValue } from './fixtures.js';

const NOW = 10_000_000;
const NODES = ['n1:1', 'n2:1', 'n3:1'];

function input(snapshot: ClusterSnapshot, over: Partial<LeaderStepInput> = {}): LeaderStepInput {
  return {
    snapshot,
    settings: defaultPlannerSettings(snapshot.numShards),
    strategy: 'count',
    now: NOW,
    stableSince: NOW - 60_000,
    rebalance: 'idle',
    firstSeen: new Map(),
    self: 'n1:1',
    ...over,
  };
}

const balanced = (): ClusterSnapshot => cluster({ numShards: 64, nodes: NODES, shards: roundRobinValue(NODES) });

describe('leader step', () => {
  it('checks eligible nodes, quorum and stability first', () => {
    expect(leaderStep(input(cluster({ numShards: 8, nodes: [] })))).toMatchObject({ step: 'idle', reason: 'no-nodes' });
    expect(leaderStep(input(cluster({ numShards: 8, nodes: ['a:1'], drained: ['a:1'] })))).toMatchObject({ reason: 'no-nodes' });
    const settings = { ...defaultPlannerSettings(64), minQuorum: 4 };
    expect(leaderStep(input(balanced(), { settings }))).toMatchObject({ reason: 'below-quorum', text: '3 alive nodes, quorum is 4' });
    expect(leaderStep(input(balanced(), { stableSince: null }))).toMatchObject({ reason: 'not-stable', until: null });
    expect(leaderStep(input(balanced(), { stableSince: NOW - 4_000 }))).toEqual({
      step: 'idle',
      reason: 'not-stable',
      text: 'the set of alive nodes changed 4 s ago; stable in 6 s',
      until: NOW + 6_000,
    });
  });

  it('assigns targets before anything else, even while rebalancing is paused', () => {
    let snap = cluster({ numShards: 64, nodes: NODES });
    snap = put(snap, 'rebalance/pause', encodeRecord({ until: NOW + 30_000, by: 'ops', at: NOW, reason: 'upgrade' }));
    const d = leaderStep(input(snap));
    expect(d.step).toBe('reassign');
    expect(d.step === 'reassign' && d.writes.length).toBe(64);
  });

  it('recovers stuck shards before rebalancing', () => {
    const snap = cluster({ numShards: 64, nodes: NODES, shards: (id) => (id === 5 ? { target: 'n2:1', current: '', flags: [] } : roundRobinValue(NODES)(id)) });
    const firstSeen = new Map([[5, { target: 'n2:1', since: NOW - 61_000 }]]);
    const d = leaderStep(input(snap, { firstSeen }));
    expect(d).toMatchObject({ step: 'recover', text: 'recover 1 stuck shards (1 retarget)' });
    expect(d.step === 'recover' && d.actions[0]).toMatchObject({ kind: 'retarget', shardId: 5 });
    // Younger than the timeout: nothing to recover, the rebalance check runs.
    expect(leaderStep(input(snap, { firstSeen: new Map([[5, { target: 'n2:1', since: NOW - 1_000 }]]) }))).toMatchObject({
      step: 'idle',
      reason: 'within-threshold',
    });
  });

  it('holds back rebalancing while paused, with the time left', () => {
    const snap = put(addNode(balanced(), 'n4:1'), 'rebalance/pause', encodeRecord({ until: NOW + 90_000, by: 'ops', at: NOW, reason: 'upgrade' }));
    expect(leaderStep(input(snap))).toEqual({
      step: 'idle',
      reason: 'paused',
      text: `rebalancing paused by ops (upgrade) until ${new Date(NOW + 90_000).toISOString()}, 90 s left`,
      until: NOW + 90_000,
    });
    expect(leaderStep(input(snap, { now: NOW + 90_000 }))).toMatchObject({ step: 'rebalance', strategy: 'count' });
  });

  it('rebalances with the chosen strategy and keeps a started round going', () => {
    // 34/30 on two nodes: within the threshold, so weighted starts only when a round is already active.
    const snap = cluster({ numShards: 64, nodes: ['a:1', 'b:1'], shards: (id) => ({ target: id < 34 ? 'a:1' : 'b:1', current: 'a:1', flags: [] }) });
    const idle = leaderStep(input(snap, { strategy: 'weighted' }));
    expect(idle).toMatchObject({ step: 'idle', reason: 'within-threshold' });
    expect(rebalanceStateAfter(idle, 'idle')).toBe('idle');
    const active = leaderStep(input(snap, { strategy: 'weighted', rebalance: 'active' }));
    expect(active).toMatchObject({ step: 'rebalance', strategy: 'weighted' });
    expect(rebalanceStateAfter(active, 'idle')).toBe('active');
  });

  it('load: after moving shards, waits for the reports to settle before planning again, keeping the round going', () => {
    const snap = cluster({ numShards: 64, nodes: ['a:1', 'b:1'], shards: (id) => ({ target: id < 40 ? 'a:1' : 'b:1', current: id < 40 ? 'a:1' : 'b:1', flags: [] }) });
    const settle = defaultPlannerSettings(64).load.settleMs;
    const settling = leaderStep(input(snap, { strategy: 'load', lastMovesAt: NOW - 1000 }));
    expect(settling).toMatchObject({ step: 'idle', reason: 'settling', until: NOW - 1000 + settle });
    expect(rebalanceStateAfter(settling, 'active')).toBe('active');
    expect(leaderStep(input(snap, { strategy: 'load', lastMovesAt: NOW - settle }))).toMatchObject({ step: 'rebalance', strategy: 'load' });
    // Other strategies do not read load reports and do not wait.
    expect(leaderStep(input(snap, { strategy: 'weighted', lastMovesAt: NOW - 1000 }))).toMatchObject({ step: 'rebalance' });
  });

  it('rejects an unknown strategy name with the accepted ones', () => {
    expect(() => rebalanceStrategy('random')).toThrow(/unknown rebalance strategy "random" \(expected one of count, weighted, load\)/);
  });
});

describe('imbalance figures', () => {
  it('reports targets, owners and the weighted ideal per node', () => {
    const snap = cluster({
      numShards: 12,
      nodes: ['a:1', 'b:1', 'd:1'],
      weights: { 'a:1': 1, 'b:1': 2 },
      drained: ['d:1'],
      shards: (id) => (id < 6 ? { target: 'a:1', current: 'a:1', flags: id === 0 ? ['pinned'] : [] } : id < 10 ? { target: 'b:1', current: 'x:1', flags: [] } : id < 11 ? { target: 'd:1', current: 'd:1', flags: [] } : undefined),
    });
    const f = imbalance(snap);
    expect(f.nodes.map((n) => [n.address, n.status, n.weight, n.targets, n.owned, n.pinned, n.ideal, n.targetsOverIdeal])).toEqual([
      ['a:1', 'eligible', 1, 6, 6, 1, 4, 1.5],
      ['b:1', 'eligible', 2, 4, 0, 0, 8, 0.5],
      ['d:1', 'draining', 1, 1, 1, 0, 0, null],
      ['x:1', 'dead', 1, 0, 4, 0, 0, null],
    ]);
    expect(f).toMatchObject({ maxTargets: 6, minTargets: 4, maxOverIdeal: 1.5, minOverIdeal: 0.5, spread: 1, unassigned: 1, misplaced: 1 });
  });
});
