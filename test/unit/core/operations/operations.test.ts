import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PreconditionError } from '../../../../src/core/errors.js';
import { ForceRequiredError, type OperationRequest, planOperation } from '../../../../src/core/operations/operations.js';
import { formatShardList, parseShardList } from '../../../../src/core/operations/shardList.js';
import { buildSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';

let rev = 0;
const kv = (key: string, value: string, lease = '0'): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease });

function snap(shards: string[], nodes = ['a:1', 'b:1', 'c:1'], extra: Kv[] = []) {
  return buildSnapshot(
    '/p',
    shards.length,
    [...nodes.map((n) => kv(`/p/nodes/${n}`, n, '1')), ...shards.map((v, i) => kv(`/p/shard/${i}`, v)), ...extra],
    rev,
  );
}
const ctx = (s: ReturnType<typeof snap>) => ({ snapshot: s, now: 1_000_000, by: 'tester' });
const plan = (s: ReturnType<typeof snap>, request: OperationRequest) => planOperation(request, ctx(s));
const pin = (shards: number[]): OperationRequest => ({ kind: 'pin', shards });
const unpin = (shards: number[]): OperationRequest => ({ kind: 'unpin', shards });
const retarget = (shards: number[], to: string | null, refusals: 'refuse' | 'override' = 'refuse'): OperationRequest => ({
  kind: 'retarget',
  shards,
  to,
  refusals,
});
const release = (shards: number[], refusals: 'refuse' | 'override' = 'refuse'): OperationRequest => ({ kind: 'release', shards, refusals });

describe('parseShardList', () => {
  it('parses ids, ranges and all', () => {
    expect(parseShardList('1,5,10-12', 64)).toEqual([1, 5, 10, 11, 12]);
    expect(parseShardList(' 3 , 3,2', 64)).toEqual([2, 3]);
    expect(parseShardList('all', 4)).toEqual([0, 1, 2, 3]);
  });
  it.each(['', 'x', '1-', '5-2', '64', '-1', '1,,2', '0x10', '63-64'])('rejects %j', (text) => {
    expect(() => parseShardList(text, 64)).toThrow(InvalidArgumentError);
  });
  it('formats IDs back into the shortest list it parses', () => {
    expect(formatShardList([7])).toBe('7');
    expect(formatShardList([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8');
    expect(parseShardList(formatShardList([3, 4, 5, 9, 20, 21, 22, 23]), 64)).toEqual([3, 4, 5, 9, 20, 21, 22, 23]);
  });
});

describe('operation plans', () => {
  it('pins and unpins keeping flags, skipping no-ops', () => {
    const s = snap(['a:1,a:1,f=x', 'b:1,b:1,f=pinned']);
    const pinned = plan(s, pin([0, 1]));
    expect(pinned.shardChanges.map((c) => [c.shardId, c.old, c.new])).toEqual([[0, 'a:1,a:1,f=x', 'a:1,a:1,f=x,f=pinned']]);
    expect(pinned.skipped).toEqual([{ shardId: 1, reason: 'already pinned' }]);
    expect(pinned.shardChanges[0]!.expectedModRevision).toBe(s.shards[0]!.modRevision);
    expect(plan(s, unpin([1])).shardChanges[0]!.new).toBe('b:1,b:1');
  });

  it('retargets to a named alive node, refusing dead or unknown ones', () => {
    const s = snap(['a:1,a:1,f=pinned', 'b:1,b:1'], ['a:1', 'b:1'], [kv('/p/nodeinfo/c:1', 'x')]);
    const p = plan(s, retarget([0, 1], 'b:1'));
    expect(p.shardChanges.map((c) => c.new)).toEqual(['b:1,a:1,f=pinned']);
    expect(p.shardChanges[0]!.migration).toEqual({ kind: 'put', record: { since: 1_000_000, target: 'b:1', from: 'a:1' } });
    expect(p.skipped).toEqual([{ shardId: 1, reason: 'already targeted at b:1' }]);
    const withDead = snap(['a:1,a:1', 'gone:1,gone:1'], ['a:1']);
    expect(() => plan(withDead, retarget([0], 'gone:1'))).toThrow(PreconditionError);
    expect(plan(withDead, retarget([0], 'gone:1', 'override')).shardChanges[0]!.new).toBe('gone:1,a:1');
    expect(() => plan(withDead, retarget([0], 'nobody:1'))).toThrow(InvalidArgumentError);
  });

  it('retargets to the best node, never the current target', () => {
    const s = snap(['a:1,a:1', 'a:1,a:1', 'a:1,a:1', 'a:1,a:1']);
    const p = plan(s, retarget([0, 1, 2, 3], null));
    expect(p.shardChanges).toHaveLength(4);
    for (const c of p.shardChanges) expect(c.after.target).not.toBe('a:1');
  });

  it('releases dead owners, asks live migrating owners, refuses stable live owners unless forced', () => {
    const s = snap(['b:1,dead:1', 'b:1,a:1', 'a:1,a:1', 'b:1,'], ['a:1', 'b:1']);
    const p = plan(s, release([0, 1, 2, 3]));
    expect(p.shardChanges.map((c) => [c.shardId, c.new])).toEqual([[0, 'b:1,']]);
    expect(p.recordChanges.map((r) => [r.id, r.key])).toEqual([['1', '/p/release-request/1']]);
    expect(JSON.parse(p.recordChanges[0]!.new!)).toEqual({ at: 1_000_000, by: 'tester', owner: 'a:1' });
    expect(p.skipped.map((x) => x.shardId)).toEqual([2, 3]);
    expect(plan(s, release([2], 'override')).shardChanges[0]!.new).toBe('a:1,');
  });

  it('gives refusals only force overrides as data, keeping the CLI wording in the reason and the message', () => {
    const s = snap(['a:1,a:1', 'gone:1,gone:1', ',a:1'], ['a:1', 'b:1'], [kv('/p/drain/b:1', '{"at":1,"by":"x"}')]);
    expect(plan(s, release([0, 2])).skipped).toEqual([
      { shardId: 0, reason: 'owned by alive node a:1 and not migrating; use --force to clear it anyway', refusal: { code: 'owner-alive', node: 'a:1', target: 'a:1' } },
      { shardId: 2, reason: 'owned by alive node a:1 and not migrating; use --force to clear it anyway', refusal: { code: 'owner-alive', node: 'a:1', target: '' } },
    ]);
    const refusal = (to: string): ForceRequiredError => {
      try {
        plan(s, retarget([0], to));
      } catch (err) {
        expect(err).toBeInstanceOf(ForceRequiredError);
        expect(err).toBeInstanceOf(PreconditionError);
        return err as ForceRequiredError;
      }
      throw new Error(`retarget to ${to} was not refused`);
    };
    expect(refusal('gone:1')).toMatchObject({ refusal: { code: 'target-not-alive', node: 'gone:1' }, message: 'node gone:1 is not alive; use --force to target it anyway' });
    expect(refusal('b:1')).toMatchObject({
      refusal: { code: 'target-ineligible', node: 'b:1', why: 'draining' },
      message: 'node b:1 is draining; use --force to target it anyway',
    });
  });

  it('drains a node: record plus retargets of its unpinned shards, never back to it', () => {
    const s = snap(['a:1,a:1', 'a:1,a:1,f=pinned', 'b:1,b:1', 'a:1,a:1']);
    const p = plan(s, { kind: 'drain', node: 'a:1' });
    expect(p.recordChanges.map((r) => r.key)).toEqual(['/p/drain/a:1']);
    expect(p.shardChanges.map((c) => c.shardId)).toEqual([0, 3]);
    for (const c of p.shardChanges) expect(['b:1', 'c:1']).toContain(c.after.target);
    expect(p.skipped).toEqual([{ shardId: 1, reason: 'pinned to a:1; unpin or retarget it by hand' }]);
    expect(() => plan(s, { kind: 'drain', node: 'zz' })).toThrow(InvalidArgumentError);
    const drained = snap(['b:1,b:1'], ['a:1', 'b:1'], [kv('/p/drain/a:1', '{"at":1,"by":"x"}')]);
    expect(plan(drained, { kind: 'undrain', node: 'a:1' }).recordChanges[0]).toMatchObject({ key: '/p/drain/a:1', new: null });
  });

  it('pauses with a lease and resumes', () => {
    const s = snap(['a:1,a:1']);
    const p = plan(s, { kind: 'pause', forMs: 90_000, reason: 'maintenance' });
    expect(p.recordChanges[0]).toMatchObject({ key: '/p/rebalance/pause', leaseTtlSeconds: 90, expectedModRevision: 0 });
    expect(JSON.parse(p.recordChanges[0]!.new!)).toMatchObject({ until: 1_090_000, reason: 'maintenance' });
    expect(() => plan(s, { kind: 'pause', forMs: 10, reason: '' })).toThrow(InvalidArgumentError);
    expect(plan(s, { kind: 'resume' }).recordChanges).toEqual([]);
  });
});
