import { describe, expect, it } from 'vitest';
import { PreconditionError } from '../../../../src/core/errors.js';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { decodeShardCount } from '../../../../src/core/keyspace/shardCount.js';
import { planOperation } from '../../../../src/core/operations/operations.js';
import { previewReshard, reshardSteps } from '../../../../src/core/operations/reshard.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { cluster, put } from '../planner/fixtures.js';
import { followers, settled, transition } from '../planner/reshardFixtures.js';

const [A, B] = ['a:1', 'b:1'];
const NOW = 1_700_000_000_000;

function healthy(count = 8): ClusterSnapshot {
  const snap = cluster({ numShards: count, nodes: [A, B], shards: (id) => ({ target: id % 2 ? B : A, current: id % 2 ? B : A, flags: [] }) });
  return followers(settled(snap, count), [A, B]);
}

const refusal = (snap: ClusterSnapshot, to: number): string => {
  try {
    planOperation({ kind: 'reshard', to }, { snapshot: snap, now: NOW, by: 'op' });
  } catch (err) {
    expect(err).toBeInstanceOf(PreconditionError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};

describe('reshard operations', () => {
  it('start a transition with a CAS on the record, one doubling or halving at a time', () => {
    const snap = healthy();
    const p = planOperation({ kind: 'reshard', to: 32 }, { snapshot: snap, now: NOW, by: 'op@h' });
    expect(p.summary).toBe('split 8 -> 16 shards (step 1 of 2 towards 32)');
    expect(p.recordChanges).toHaveLength(1);
    const change = p.recordChanges[0]!;
    expect(change).toMatchObject({ key: '/goverse/shard-count', expectedModRevision: snap.layout.modRevision });
    expect(decodeShardCount(change.new!)).toMatchObject({ ok: true, record: { count: 8, transition: { kind: 'split', from: 8, to: 16, state: 'running', by: 'op@h', startedAt: NOW } } });
    expect(planOperation({ kind: 'reshard', to: 2 }, { snapshot: snap, now: NOW, by: 'op' }).summary).toBe('merge 8 -> 4 shards (step 1 of 2 towards 2)');
    expect(reshardSteps(8, 1)).toBe(3);
  });

  it('previews pairs, objects that move, co-locations and fixed-shard IDs a merge invalidates', () => {
    let snap = healthy();
    snap = put(snap, 'load/a:1', encodeRecord({ at: 1, cpu: null, rssBytes: null, shards: [[0, 10, 0], [2, 6, 0], [6, 4, 0]], truncated: 0 }));
    expect(previewReshard(snap, 16)).toMatchObject({ kind: 'split', pairs: 8, objectsMoving: 10, colocations: 0, invalidFixedShards: null });
    expect(previewReshard(snap, 4)).toMatchObject({ kind: 'merge', pairs: 4, objectsMoving: 4, colocations: 0, invalidFixedShards: { from: 4, to: 8 } });
    snap = put(snap, 'shard/4', `${B},${B}`);
    expect(previewReshard(snap, 4).colocations).toBe(1);
    expect(previewReshard(healthy(), 16).objectsMoving).toBeNull();
  });

  it('refuses what must not start now', () => {
    expect(refusal(healthy(), 12)).toMatch(/cannot reshard to 12: 12 is not a power of two/);
    expect(refusal(healthy(), 8)).toMatch(/already has 8 shards/);
    expect(refusal(transition(healthy(), 'split'), 32)).toMatch(/a split 8 -> 16 is already running/);
    expect(refusal(put(healthy(), 'gates/g:1', 'g:1', '1'), 16)).toMatch(/gate g:1 is a member/);
    expect(refusal(put(healthy(), 'nodes/u:1', 'u:1', '1'), 16)).toMatch(/node u:1 cannot follow a count change \(an upstream node\)/);
    expect(refusal(put(healthy(), 'shard/3', `dead:1,${B}`), 16)).toMatch(/shard 3 has no live target/);
    expect(() => previewReshard(put(healthy(), 'shard/3', `${B},`), 16)).not.toThrow();
    const pinned = put(put(healthy(), 'shard/1', `${B},${B},f=pinned`), 'shard/5', `${A},${A},f=pinned`);
    expect(refusal(pinned, 4)).toMatch(/shards 1 and 5 are pinned to b:1 and a:1/);
    expect(() => previewReshard(pinned, 16)).not.toThrow();
    // A forged key beyond the count would become a split pair the owner of its low shard never split.
    expect(refusal(put(healthy(), 'shard/12', `${A},${A}`), 16)).toMatch(/stray keys \/goverse\/shard\/12 would count as split pairs/);
    expect(() => previewReshard(put(healthy(), 'shard/12', `${A},${A}`), 4)).not.toThrow();
    // A pinned shard on a drained node: its partner cannot join it there.
    const drained = put(put(healthy(), 'shard/5', `${A},${A},f=pinned`), 'drain/a:1', '{"at":1,"by":"op"}');
    expect(refusal(drained, 4)).toMatch(/shard 5 is pinned to a:1, which takes no new shards \(draining\)/);
  });

  it('abort turns the running transition around; nothing to abort is a failed precondition', () => {
    const running = transition(healthy(), 'split');
    const p = planOperation({ kind: 'reshard-abort' }, { snapshot: running, now: NOW, by: 'op' });
    expect(p.summary).toBe('abort the split 8 -> 16: undo its pairs, back to 8 shards');
    expect(decodeShardCount(p.recordChanges[0]!.new!)).toMatchObject({ ok: true, record: { count: 8, transition: { state: 'aborting' } } });
    const aborting = transition(healthy(), 'split', 'aborting');
    expect(planOperation({ kind: 'reshard-abort' }, { snapshot: aborting, now: NOW, by: 'op' }).recordChanges).toEqual([]);
    expect(() => planOperation({ kind: 'reshard-abort' }, { snapshot: healthy(), now: NOW, by: 'op' })).toThrow(/nothing to abort/);
  });

  it('retarget never writes a high shard whose pair is not split', () => {
    const snap = transition(healthy(), 'split');
    const p = planOperation({ kind: 'retarget', shards: [1, 9], to: A, refusals: 'refuse' }, { snapshot: snap, now: NOW, by: 'op' });
    expect(p.shardChanges.map((c) => c.shardId)).toEqual([1]);
    expect(p.skipped).toEqual([{ shardId: 9, reason: 'not split yet (a shard-count transition runs)' }]);
  });
});
