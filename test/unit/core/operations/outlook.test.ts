import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { planOperation } from '../../../../src/core/operations/operations.js';
import { balancerOutlook, leaderStrategy } from '../../../../src/core/operations/outlook.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { cluster, put } from '../planner/fixtures.js';

const NOW = 1_000_000;
const NODES = ['a:1', 'b:1', 'c:1'];
const settings = defaultPlannerSettings(8192);

/**
 * 8,192 shards at the edge of count's threshold (limit 546.13): a 2916, b 2370, c 2906, a spread of 546. Shards 0-4
 * are on b.
 */
function edge(): ClusterSnapshot {
  const counts = { 'a:1': 2916, 'b:1': 2370 };
  return cluster({
    numShards: 8192,
    nodes: NODES,
    // Published nodeinfo: goverse-nodes, not upstream ones.
    weights: { 'a:1': 1, 'b:1': 1, 'c:1': 1 },
    shards: (id) => {
      const n = id < 5 ? 'b:1' : id < 5 + counts['a:1'] ? 'a:1' : id < 5 + counts['a:1'] + counts['b:1'] - 5 ? 'b:1' : 'c:1';
      return { target: n, current: n, flags: [] };
    },
  });
}

const reassign = (snapshot: ClusterSnapshot, pin = false) =>
  planOperation({ kind: 'retarget', shards: [0, 1, 2, 3, 4], to: 'a:1', refusals: 'refuse', pin }, { snapshot, now: NOW, by: 't' });

describe('balancerOutlook', () => {
  it('says count would move the reassigned shards straight back from a cluster at the edge of its threshold', () => {
    const snapshot = edge();
    const outlook = balancerOutlook(reassign(snapshot), { snapshot, strategy: 'count', settings, now: NOW });
    // a 2921, b 2365: spread 556 beyond 546.13; count takes a's lowest IDs, the five shards just given to it, back to b.
    expect(outlook).toEqual({ strategy: 'count', movedBack: [0, 1, 2, 3, 4], moves: 5, pausedUntil: null });
  });

  it('keeps shards pinned in the same write where they go; the balancer then moves others, or none', () => {
    const snapshot = edge();
    const plan = reassign(snapshot, true);
    expect(plan.summary).toBe('retarget 5 shards to a:1 and pin them');
    expect(plan.shardChanges.every((c) => c.after.flags.includes('pinned') && c.after.target === 'a:1')).toBe(true);
    const outlook = balancerOutlook(plan, { snapshot, strategy: 'count', settings, now: NOW })!;
    expect(outlook.movedBack).toEqual([]);
    expect(outlook.moves).toBe(5);
  });

  it('sees no move back on a cluster well within its threshold, and nothing for a plan without new targets', () => {
    const even = cluster({ numShards: 8192, nodes: NODES, shards: (id) => ({ target: NODES[id % 3]!, current: NODES[id % 3]!, flags: [] }) });
    const far = planOperation({ kind: 'retarget', shards: [1, 2, 4], to: 'a:1', refusals: 'refuse' }, { snapshot: even, now: NOW, by: 't' });
    expect(balancerOutlook(far, { snapshot: even, strategy: 'count', settings, now: NOW })).toEqual({ strategy: 'count', movedBack: [], moves: 0, pausedUntil: null });
    const pin = planOperation({ kind: 'pin', shards: [1] }, { snapshot: even, now: NOW, by: 't' });
    expect(balancerOutlook(pin, { snapshot: even, strategy: 'count', settings, now: NOW })).toBeNull();
  });

  it('says when a pause holds the moves back', () => {
    const snapshot = put(edge(), 'rebalance/pause', encodeRecord({ until: NOW + 60_000, by: 'ops', at: NOW, reason: '' }), '7');
    const outlook = balancerOutlook(reassign(snapshot), { snapshot, strategy: 'count', settings, now: NOW })!;
    expect(outlook).toMatchObject({ movedBack: [0, 1, 2, 3, 4], pausedUntil: NOW + 60_000 });
  });

  it("simulates the leader's published strategy, and count under an upstream leader", () => {
    let snapshot = put(edge(), 'leader', 'a:1');
    expect(leaderStrategy(snapshot, 'load')).toBe('load');
    snapshot = put(snapshot, 'rebalance/status', encodeRecord({ leader: 'a:1', strategy: 'weighted', state: 'balanced', reason: '', at: 1, recent: [] }), '1');
    expect(leaderStrategy(snapshot, 'count')).toBe('weighted');
    // weighted balances to one shard once it starts: it moves far more, and the five shards are among them.
    const outlook = balancerOutlook(reassign(snapshot), { snapshot, strategy: 'count', settings, now: NOW })!;
    expect(outlook.strategy).toBe('weighted');
    expect(outlook.moves).toBeGreaterThan(5);
    const upstream = put(put(snapshot, 'nodes/up:1', 'up:1', '1'), 'leader', 'up:1');
    expect(leaderStrategy(upstream, 'weighted')).toBe('count');
  });
});
