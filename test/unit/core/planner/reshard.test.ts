import { describe, expect, it } from 'vitest';
import { encodeShardCount } from '../../../../src/core/keyspace/shardCount.js';
import { plannerContext } from '../../../../src/core/planner/context.js';
import { leaderStep } from '../../../../src/core/planner/leaderStep.js';
import { planReassign } from '../../../../src/core/planner/reassign.js';
import { reshardProgress } from '../../../../src/core/planner/reshard.js';
import { planLeaderReshard } from '../../../../src/core/planner/reshardLeader.js';
import { planOwnerReshard } from '../../../../src/core/planner/reshardOwner.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { cluster, put } from './fixtures.js';
import { commit, followers, transition } from './reshardFixtures.js';

const NOW = 1_000_000;
const [A, B, C] = ['a:1', 'b:1', 'c:1'];

/** Shards 0..3 on A, B, A, B, with a record of 4. */
function four(): ClusterSnapshot {
  const owners = [A, B, A, B];
  const snap = cluster({ numShards: 4, nodes: [A, B, C], shards: (id) => ({ target: owners[id]!, current: owners[id]!, flags: [] }) });
  return followers(put(snap, 'shard-count', encodeShardCount({ count: 4, transition: null, reshards: 0 })), [A, B, C]);
}

describe('a split', () => {
  it('each owner splits the pairs of the low shards it serves, creating the high shard as its own', () => {
    const snap = transition(four(), 'split');
    expect(reshardProgress(snap)).toMatchObject({ kind: 'split', goal: 'split', pairs: 4, done: 0 });
    const mine = planOwnerReshard(snap, A, () => true);
    expect(mine.map((t) => [t.op, t.low, t.high])).toEqual([
      ['split', 0, 4],
      ['split', 2, 6],
    ]);
    expect(mine[0]!.puts).toEqual([
      { shardId: 0, value: `${A},${A}` },
      { shardId: 4, value: `${A},${A}` },
    ]);
    expect(mine[0]!.compares).toEqual([
      { shardId: 0, modRevision: snap.shards[0]!.modRevision },
      { shardId: 4, modRevision: 0 },
    ]);
    // Without an epoch (not claimed in this registration) the node does nothing.
    expect(planOwnerReshard(snap, A, () => false)).toEqual([]);
    // The leader leaves owned pairs to their owners.
    expect(planLeaderReshard(snap, plannerContext(snap))).toMatchObject({ pairs: [], colocate: [], complete: null, waiting: new Map([[A, 2], [B, 2]]) });
  });

  it('the leader splits pairs nobody owns, with the low shard\'s target and flags and no migration record (nobody owns the new shard)', () => {
    let snap = transition(four(), 'split');
    snap = put(snap, 'shard/1', `${B},dead:1,f=pinned`);
    const plan = planLeaderReshard(snap, plannerContext(snap))!;
    expect(plan.pairs.map((t) => [t.op, t.low, t.high])).toEqual([['split', 1, 5]]);
    expect(plan.pairs[0]!.puts[1]).toEqual({ shardId: 5, value: `${B},,f=pinned` });
    expect(plan.pairs[0]!.puts.map((p) => p.shardId)).toEqual([1, 5]);
  });

  it('completes with a CAS of the record once every high shard exists; reassign never creates one', () => {
    let snap = transition(four(), 'split');
    expect(planReassign(snap, defaultPlannerSettings(8)).kind).toBe('skip');
    for (const owner of [A, B]) for (const t of planOwnerReshard(snap, owner, () => true)) snap = commit(snap, t);
    const plan = planLeaderReshard(snap, plannerContext(snap))!;
    expect(plan.complete).toEqual({ record: { count: 8, transition: null, reshards: 1 }, expectedModRevision: snap.layout.modRevision });
    expect(plan.text).toMatch(/4\/4 pairs split; completing: 8 shards in force/);
  });

  it('an abort merges back what was split and ends at the original count', () => {
    let snap = transition(four(), 'split');
    snap = commit(snap, planOwnerReshard(snap, A, () => true)[0]!);
    snap = transition(put(snap, 'shard-count', encodeShardCount({ count: 4, transition: null, reshards: 0 })), 'split', 'aborting');
    expect(reshardProgress(snap)).toMatchObject({ goal: 'merge', done: 3 });
    const undo = planOwnerReshard(snap, A, () => true);
    expect(undo.map((t) => [t.op, t.low, t.high, t.deletes])).toEqual([['merge', 0, 4, 4]]);
    snap = commit(snap, undo[0]!);
    expect(planLeaderReshard(snap, plannerContext(snap))!.complete?.record).toEqual({ count: 4, transition: null, reshards: 0 });
  });
});

describe('a merge', () => {
  function eight(targets: readonly string[], flags: (id: number) => string[] = () => []): ClusterSnapshot {
    let snap = cluster({ numShards: 8, nodes: [A, B, C], shards: (id) => ({ target: targets[id]!, current: targets[id]!, flags: flags(id) }) });
    snap = followers(put(snap, 'shard-count', encodeShardCount({ count: 8, transition: null, reshards: 1 })), [A, B, C]);
    return transition(snap, 'merge', 'running', 1);
  }

  it('co-locates pairs (the high shard moves), all at once; then the owner of both merges', () => {
    let snap = eight([A, A, B, B, A, B, B, A]);
    const plan = planLeaderReshard(snap, plannerContext(snap))!;
    expect(plan.colocate.map((w) => [w.shardId, w.after.target])).toEqual([
      [5, A],
      [7, B],
    ]);
    expect(planOwnerReshard(snap, A, () => true).map((t) => [t.op, t.low, t.high])).toEqual([['merge', 0, 4]]);
    expect(planOwnerReshard(snap, B, () => true).map((t) => [t.low, t.high])).toEqual([[2, 6]]);
    // A half-moved pair (target set, not claimed yet) waits for the claim.
    snap = put(snap, 'shard/5', `${A},${B}`);
    expect(planOwnerReshard(snap, A, () => true).map((t) => t.low)).toEqual([0]);
  });

  it('moves the low shard when only the high one is pinned, and blocks pairs pinned apart', () => {
    let snap = eight([A, A, B, B, A, B, B, A], (id) => (id === 5 || id === 3 || id === 7 ? ['pinned'] : []));
    const plan = planLeaderReshard(snap, plannerContext(snap))!;
    expect(plan.colocate.map((w) => [w.shardId, w.after.target])).toEqual([[1, B]]);
    expect(plan.blocked).toEqual([{ low: 3, reason: `shards 3 and 7 are pinned to ${B} and ${A}: unpin one` }]);
    snap = put(snap, 'shard/1', `${B},`);
    expect(planLeaderReshard(snap, plannerContext(snap))!.colocate).toEqual([]);
    // Once co-located, the merged shard keeps the high shard's pin.
    snap = put(snap, 'shard/1', `${B},${B}`);
    const merge = planOwnerReshard(snap, B, () => true).find((t) => t.low === 1)!;
    expect(merge.puts).toEqual([{ shardId: 1, value: `${B},${B},f=pinned` }]);
  });

  it('the leader merges pairs nobody owns; the merged record is the lower count', () => {
    let snap = eight([A, A, B, B, A, A, B, B]);
    snap = put(snap, 'shard/1', `${A},dead:1`);
    snap = put(snap, 'shard/5', `${A},`);
    const plan = planLeaderReshard(snap, plannerContext(snap))!;
    expect(plan.pairs.map((t) => [t.op, t.low, t.deletes])).toEqual([['merge', 1, 5]]);
    expect(plan.pairs[0]!.puts).toEqual([{ shardId: 1, value: `${A},dead:1` }]);
    for (const o of [A, B]) for (const t of planOwnerReshard(snap, o, () => true)) snap = commit(snap, t);
    snap = commit(snap, plan.pairs[0]!);
    expect(planLeaderReshard(snap, plannerContext(snap))!.complete?.record).toEqual({ count: 4, transition: null, reshards: 2 });
  });
});

describe('the leader during a transition', () => {
  const settings = { ...defaultPlannerSettings(8), stabilityMs: 0 };
  const step = (snap: ClusterSnapshot) =>
    leaderStep({ snapshot: snap, settings, strategy: 'count', now: NOW, stableSince: 0, rebalance: 'idle', firstSeen: new Map(), self: A });

  it('does not rebalance: it writes reshard steps or waits with the reason resharding', () => {
    let snap = transition(four(), 'split');
    expect(step(snap)).toMatchObject({ step: 'idle', reason: 'resharding', text: expect.stringMatching(/0\/4 pairs split; waiting for/) });
    snap = put(snap, 'shard/3', `${B},`);
    expect(step(snap)).toMatchObject({ step: 'reshard', plan: { pairs: [{ low: 3 }] } });
  });

  it('a member that cannot follow is not eligible while a transition runs or after one', () => {
    const base = cluster({ numShards: 4, nodes: [A, B], shards: () => ({ target: A, current: A, flags: [] }) });
    const withA = followers(put(base, 'shard-count', encodeShardCount({ count: 4, transition: null, reshards: 0 })), [A]);
    expect(plannerContext(withA).eligible).toEqual([A, B]);
    const after = put(withA, 'shard-count', encodeShardCount({ count: 8, transition: null, reshards: 1 }));
    expect(plannerContext(after).ineligible).toEqual(new Map([[B, 'cannot-follow']]));
    expect(plannerContext(transition(withA, 'split')).eligible).toEqual([A]);
  });
});
