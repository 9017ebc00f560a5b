/**
 * The single-activation argument of docs/RESHARDING.md §8, as a property over random runs of the protocol: owners
 * split and merge their pairs, the leader handles unowned pairs, co-locates and completes, shards migrate and nodes
 * die, in any order, for splits and merges, running and aborting. At every reachable state every object is served by
 * exactly one shard of the layout, and at most one node may serve that shard (its settled owner); every change of an
 * object's shard happens in a step that evicted it from the node serving it, or while no node served it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ReshardKind } from '../../../../src/core/keyspace/shardCount.js';
import { plannerContext } from '../../../../src/core/planner/context.js';
import { planReassign } from '../../../../src/core/planner/reassign.js';
import type { PairTxn } from '../../../../src/core/planner/reshard.js';
import { planLeaderReshard } from '../../../../src/core/planner/reshardLeader.js';
import { planOwnerReshard } from '../../../../src/core/planner/reshardOwner.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { fnv1a32 } from '../../../../src/core/sharding/hash.js';
import { pairHalf, pairLowCount } from '../../../../src/core/sharding/layout.js';
import { placeInSnapshot, shardInLayout } from '../../../../src/core/snapshot/layout.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { encodeShardCount } from '../../../../src/core/keyspace/shardCount.js';
import { applyWrites, cluster, put, remove } from './fixtures.js';
import { commit, followers, settled, transition } from './reshardFixtures.js';

const NODES = ['a:1', 'b:1', 'c:1'];

type Action =
  | { readonly kind: 'owner'; readonly node: number }
  | { readonly kind: 'leader'; readonly pick: number }
  | { readonly kind: 'migrate'; readonly shard: number; readonly to: number }
  | { readonly kind: 'claim'; readonly shard: number }
  | { readonly kind: 'die'; readonly node: number }
  | { readonly kind: 'abort' };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('owner' as const), node: fc.nat(2) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('leader' as const), pick: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('migrate' as const), shard: fc.nat(63), to: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), shard: fc.nat(63) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('die' as const), node: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abort' as const }) },
);

/** The node that may serve a shard: its settled, alive owner (a claim sets both; a release clears the owner first). */
function servingNode(snap: ClusterSnapshot, shard: number): string | null {
  const e = snap.shards[shard];
  return e !== undefined && e.current !== '' && e.current === e.target && snap.nodes.has(e.current) ? e.current : null;
}

/** The object's shard; null for a fixed-shard ID beyond the range (invalid after a merge, as routing says). */
function shardOf(snap: ClusterSnapshot, id: string): number | null {
  if (id.startsWith('shard#') && Number(id.slice(6, id.indexOf('/'))) >= snap.numShards) return null;
  const p = placeInSnapshot(snap, id);
  if (p.kind !== 'shard') throw new Error('not a shard object');
  return p.shardId;
}

function checkState(snap: ClusterSnapshot, ids: readonly string[]): void {
  for (const id of ids) {
    const shard = shardOf(snap, id);
    if (shard === null) continue;
    expect(shardInLayout(snap, shard)).toBe(true);
    expect(snap.shards[shard]).toBeDefined();
  }
}

/**
 * An object whose shard changed moved with a pair step: by its owner, who evicted it (a split evicts the high half of
 * the low shard, a merge everything of the high shard) while serving both shards; or by the leader while nobody served
 * either shard.
 */
function checkMove(before: ClusterSnapshot, after: ClusterSnapshot, ids: readonly string[], step: PairTxn, by: string | null): void {
  const n = pairLowCount(before.layout)!;
  for (const id of ids) {
    const [was, is] = [shardOf(before, id), shardOf(after, id)];
    if (was === is) continue;
    expect([was, is].sort((x, y) => x! - y!)).toEqual([step.low, step.high]);
    if (by === null) {
      expect(servingNode(before, step.low)).toBeNull();
      expect(servingNode(before, step.high)).toBeNull();
    } else if (step.op === 'split') {
      expect(servingNode(before, step.low)).toBe(by);
      expect(pairHalf(id, n)).toBe('high');
    } else {
      expect([servingNode(before, step.low), servingNode(before, step.high)]).toEqual([by, by]);
      expect(was).toBe(step.high);
    }
  }
}

function start(kind: ReshardKind, n: number): ClusterSnapshot {
  const count = kind === 'split' ? n : 2 * n;
  let snap = cluster({ numShards: count, nodes: NODES, shards: (id) => ({ target: NODES[id % 3]!, current: NODES[id % 3]!, flags: [] }) });
  snap = followers(settled(snap, count, kind === 'merge' ? 1 : 0), NODES);
  return transition(snap, kind);
}

function act(snap: ClusterSnapshot, a: Action, ids: readonly string[]): ClusterSnapshot {
  switch (a.kind) {
    case 'owner': {
      const node = NODES[a.node]!;
      if (!snap.nodes.has(node)) return snap;
      const steps = planOwnerReshard(snap, node, () => true);
      let next = snap;
      for (const s of steps) {
        const after = commit(next, s);
        checkMove(next, after, ids, s, node);
        next = after;
      }
      return next;
    }
    case 'leader': {
      const plan = planLeaderReshard(snap, plannerContext(snap));
      if (plan === null) return snap;
      if (plan.complete !== null) return put(snap, 'shard-count', encodeShardCount(plan.complete.record));
      const choices = [...plan.pairs.map((p) => ({ p })), ...plan.colocate.map((w) => ({ w }))];
      if (choices.length === 0) {
        const reassign = planReassign(snap, defaultPlannerSettings(snap.numShards));
        return reassign.kind === 'write' ? applyWrites(snap, reassign.writes, false) : snap;
      }
      const choice = choices[a.pick % choices.length]!;
      if ('w' in choice) return applyWrites(snap, [choice.w], false);
      const after = commit(snap, choice.p);
      checkMove(snap, after, ids, choice.p, null);
      return after;
    }
    case 'migrate': {
      const e = snap.shards[a.shard];
      return e === undefined ? snap : put(snap, `shard/${a.shard}`, `${NODES[a.to]},${e.current}`);
    }
    case 'claim': {
      // A release then a claim by the target, as custody does them (each under the shard's write lock).
      const e = snap.shards[a.shard];
      if (e === undefined || e.target === '' || !snap.nodes.has(e.target)) return snap;
      return put(snap, `shard/${a.shard}`, `${e.target},${e.target}`);
    }
    case 'die':
      return snap.nodes.size > 1 && snap.nodes.has(NODES[a.node]!) ? remove(snap, `nodes/${NODES[a.node]}`) : snap;
    case 'abort': {
      const t = snap.layout.transition;
      if (t === null || t.state === 'aborting') return snap;
      return put(snap, 'shard-count', encodeShardCount({ count: t.from, transition: { ...t, state: 'aborting' }, reshards: snap.layout.reshards }));
    }
  }
}

/** Drives the transition to its end with every node alive and every move completed. */
function finish(snap: ClusterSnapshot, ids: readonly string[]): ClusterSnapshot {
  for (let round = 0; round < 200 && snap.layout.transition !== null; round++) {
    for (const node of NODES) if (!snap.nodes.has(node)) snap = put(snap, `nodes/${node}`, node, '1');
    for (let s = 0; s < snap.numShards; s++) snap = act(snap, { kind: 'claim', shard: s }, ids);
    for (let i = 0; i < 3; i++) snap = act(snap, { kind: 'owner', node: i }, ids);
    snap = act(snap, { kind: 'leader', pick: round }, ids);
    checkState(snap, ids);
  }
  expect(snap.layout.transition).toBeNull();
  return snap;
}

describe('resharding keeps every object in exactly one shard served by at most one node', () => {
  it('in every reachable state of splits and merges, running and aborting', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ReshardKind>('split', 'merge'),
        fc.constantFrom(1, 2, 4, 8),
        fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.nat(15).map((n) => `shard#${n}/f`)), { minLength: 1, maxLength: 30 }),
        fc.array(action, { maxLength: 40 }),
        (kind, n, raw, actions) => {
          let snap = start(kind, n);
          const ids = raw.map((r) => (r.startsWith('shard#') ? `shard#${Number(r.slice(6, -2)) % (2 * n)}/f` : `o-${r}`));
          checkState(snap, ids);
          const original = snap.layout.count;
          let aborted = false;
          for (const a of actions) {
            if (a.kind === 'abort' && snap.layout.transition?.state === 'running') aborted = true;
            snap = act(snap, a, ids);
            checkState(snap, ids);
          }
          snap = finish(snap, ids);
          const count = snap.layout.count;
          expect(count).toBe(aborted ? original : kind === 'split' ? 2 * n : n);
          // No flag day: the count alone now gives the same answer as the pair rule did.
          for (const id of ids) {
            const fixed = id.startsWith('shard#') ? Number(id.slice(6, id.indexOf('/'))) : null;
            if (fixed !== null && fixed >= count) continue;
            expect(shardOf(snap, id)).toBe(fixed ?? fnv1a32(id) % count);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
