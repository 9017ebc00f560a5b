import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PreconditionError } from '../../../src/core/errors.js';
import { ForceRequiredError, type OperationRequest, planOperation } from '../../../src/core/operations/operations.js';
import { formatShardList, parseShardList } from '../../../src/core/operations/shardList.js';
import { buildSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';

let rev = 0;
const kv = (key: string, value: string): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease: '0' });

function snap(shards: string[], nodes = ['a', 'b', 'c'], extra: Kv[] = []) {
  return buildSnapshot(
    '/p',
    shards.length,
    [...nodes.map((n) => kv(`/p/nodes/${n}`, n)), ...shards.map((v, i) => kv(`/p/shard/${i}`, v)), ...extra],
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
    const s = snap(['a,a,f=x', 'b,b,f=pinned']);
    const pinned = plan(s, pin([0, 1]));
    expect(pinned.shardChanges.map((c) => [c.shardId, c.old, c.new])).toEqual([[0, 'a,a,f=x', 'a,a,f=x,f=pinned']]);
    expect(pinned.skipped).toEqual([{ shardId: 1, reason: 'already pinned' }]);
    expect(pinned.shardChanges[0]!.expectedModRevision).toBe(s.shards[0]!.modRevision);
    expect(plan(s, unpin([1])).shardChanges[0]!.new).toBe('b,b');
  });

  it('retargets to a named alive node, refusing dead or unknown ones', () => {
    const s = snap(['a,a,f=pinned', 'b,b'], ['a', 'b'], [kv('/p/nodeinfo/c', 'x')]);
    const p = plan(s, retarget([0, 1], 'b'));
    expect(p.shardChanges.map((c) => c.new)).toEqual(['b,a,f=pinned']);
    expect(p.shardChanges[0]!.migration).toEqual({ kind: 'put', record: { since: 1_000_000, target: 'b', from: 'a' } });
    expect(p.skipped).toEqual([{ shardId: 1, reason: 'already targeted at b' }]);
    const withDead = snap(['a,a', 'gone,gone'], ['a']);
    expect(() => plan(withDead, retarget([0], 'gone'))).toThrow(PreconditionError);
    expect(plan(withDead, retarget([0], 'gone', 'override')).shardChanges[0]!.new).toBe('gone,a');
    expect(() => plan(withDead, retarget([0], 'nobody'))).toThrow(InvalidArgumentError);
  });

  it('retargets to the best node, never the current target', () => {
    const s = snap(['a,a', 'a,a', 'a,a', 'a,a']);
    const p = plan(s, retarget([0, 1, 2, 3], null));
    expect(p.shardChanges).toHaveLength(4);
    for (const c of p.shardChanges) expect(c.after.target).not.toBe('a');
  });

  it('releases dead owners, asks live migrating owners, refuses stable live owners unless forced', () => {
    const s = snap(['b,dead', 'b,a', 'a,a', 'b,'], ['a', 'b']);
    const p = plan(s, release([0, 1, 2, 3]));
    expect(p.shardChanges.map((c) => [c.shardId, c.new])).toEqual([[0, 'b,']]);
    expect(p.recordChanges.map((r) => [r.id, r.key])).toEqual([['1', '/p/release-request/1']]);
    expect(JSON.parse(p.recordChanges[0]!.new!)).toEqual({ at: 1_000_000, by: 'tester', owner: 'a' });
    expect(p.skipped.map((x) => x.shardId)).toEqual([2, 3]);
    expect(plan(s, release([2], 'override')).shardChanges[0]!.new).toBe('a,');
  });

  it('gives refusals only force overrides as data, keeping the CLI wording in the reason and the message', () => {
    const s = snap(['a,a', 'gone,gone', ',a'], ['a', 'b'], [kv('/p/drain/b', '{"at":1,"by":"x"}')]);
    expect(plan(s, release([0, 2])).skipped).toEqual([
      { shardId: 0, reason: 'owned by alive node a and not migrating; use --force to clear it anyway', refusal: { code: 'owner-alive', node: 'a', target: 'a' } },
      { shardId: 2, reason: 'owned by alive node a and not migrating; use --force to clear it anyway', refusal: { code: 'owner-alive', node: 'a', target: '' } },
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
    expect(refusal('gone')).toMatchObject({ refusal: { code: 'target-not-alive', node: 'gone' }, message: 'node gone is not alive; use --force to target it anyway' });
    expect(refusal('b')).toMatchObject({
      refusal: { code: 'target-ineligible', node: 'b', why: 'draining' },
      message: 'node b is draining; use --force to target it anyway',
    });
  });

  it('drains a node: record plus retargets of its unpinned shards, never back to it', () => {
    const s = snap(['a,a', 'a,a,f=pinned', 'b,b', 'a,a']);
    const p = plan(s, { kind: 'drain', node: 'a' });
    expect(p.recordChanges.map((r) => r.key)).toEqual(['/p/drain/a']);
    expect(p.shardChanges.map((c) => c.shardId)).toEqual([0, 3]);
    for (const c of p.shardChanges) expect(['b', 'c']).toContain(c.after.target);
    expect(p.skipped).toEqual([{ shardId: 1, reason: 'pinned to a; unpin or retarget it by hand' }]);
    expect(() => plan(s, { kind: 'drain', node: 'zz' })).toThrow(InvalidArgumentError);
    const drained = snap(['b,b'], ['a', 'b'], [kv('/p/drain/a', '{"at":1,"by":"x"}')]);
    expect(plan(drained, { kind: 'undrain', node: 'a' }).recordChanges[0]).toMatchObject({ key: '/p/drain/a', new: null });
  });

  it('pauses with a lease and resumes', () => {
    const s = snap(['a,a']);
    const p = plan(s, { kind: 'pause', forMs: 90_000, reason: 'maintenance' });
    expect(p.recordChanges[0]).toMatchObject({ key: '/p/rebalance/pause', leaseTtlSeconds: 90, expectedModRevision: 0 });
    expect(JSON.parse(p.recordChanges[0]!.new!)).toMatchObject({ until: 1_090_000, reason: 'maintenance' });
    expect(() => plan(s, { kind: 'pause', forMs: 10, reason: '' })).toThrow(InvalidArgumentError);
    expect(plan(s, { kind: 'resume' }).recordChanges).toEqual([]);
  });
});
