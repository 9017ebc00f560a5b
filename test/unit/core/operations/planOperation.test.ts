/**
 * planOperation over every request kind: what each plans against one snapshot (keys, values, the ModRevision each
 * write compares against, migration records), and every refusal (unknown or dead or ineligible targets unless
 * overridden, live owners, pause bounds).
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../../src/core/errors.js';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import {
  DEFAULT_MAX_PAUSE_MS,
  ForceRequiredError,
  type OperationContext,
  type OperationName,
  type OperationRequest,
  planOperation,
  UpstreamLeaderError,
} from '../../../../src/core/operations/operations.js';
import { buildSnapshot, type ClusterSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';

const NOW = 5_000_000;
let rev = 100;
const kv = (key: string, value: string): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease: key.startsWith('/p/nodes/') ? '1' : '0' });

/**
 * Alive a, b, c (c draining), dead `gone:1` still named by shards. Shard 0 settled on a, 1 migrating a -> b with its
 * record, 2 pinned on a, 3 settled on gone, 4 unassigned, 5 settled on a with a stale record, 6 owned by a without a
 * target; rebalancing paused.
 */
function cluster(): ClusterSnapshot {
  return buildSnapshot(
    '/p',
    8,
    [
      ...['a:1', 'b:1', 'c:1'].map((n) => kv(`/p/nodes/${n}`, n)),
      kv('/p/drain/c:1', encodeRecord({ at: 1, by: 'ops' })),
      kv('/p/shard/0', 'a:1,a:1'),
      kv('/p/shard/1', 'b:1,a:1'),
      kv('/p/migration/1', encodeRecord({ since: 10, target: 'b:1', from: 'a:1' })),
      kv('/p/shard/2', 'a:1,a:1,f=pinned'),
      kv('/p/shard/3', 'gone:1,gone:1'),
      kv('/p/shard/5', 'a:1,a:1'),
      kv('/p/migration/5', encodeRecord({ since: 20, target: 'a:1', from: 'b:1' })),
      kv('/p/shard/6', ',a:1'),
      kv('/p/rebalance/pause', encodeRecord({ until: NOW + 60_000, by: 'ops', at: NOW - 1000, reason: 'x' })),
    ],
    rev,
  );
}

const snapshot = cluster();
const context = (extra: Partial<OperationContext> = {}): OperationContext => ({ snapshot, now: NOW, by: 'tester', ...extra });
const plan = (request: OperationRequest, extra: Partial<OperationContext> = {}) => planOperation(request, context(extra));
const refusalOf = (request: OperationRequest): ForceRequiredError => {
  try {
    plan(request);
  } catch (err) {
    if (err instanceof ForceRequiredError) return err;
    throw err;
  }
  throw new Error(`${request.kind} was not refused`);
};

describe('planOperation', () => {
  it('names every plan after its request kind', () => {
    // The reshard operations need a cluster that may reshard: operations/reshard.test.ts.
    const requests: Record<Exclude<OperationName, 'reshard' | 'reshard-abort'>, OperationRequest> = {
      pin: { kind: 'pin', shards: [0] },
      unpin: { kind: 'unpin', shards: [2] },
      retarget: { kind: 'retarget', shards: [0], to: 'b:1', refusals: 'refuse' },
      release: { kind: 'release', shards: [3], refusals: 'refuse' },
      drain: { kind: 'drain', node: 'a:1' },
      undrain: { kind: 'undrain', node: 'c:1' },
      pause: { kind: 'pause', forMs: 60_000, reason: '' },
      resume: { kind: 'resume' },
    };
    for (const [kind, request] of Object.entries(requests)) expect(plan(request).operation).toBe(kind);
  });

  it('pin and unpin compare against the shard ModRevision and tidy a stale migration record', () => {
    const p = plan({ kind: 'pin', shards: [0, 1, 2, 4, 5] });
    expect(p.shardChanges.map((c) => [c.shardId, c.new, c.expectedModRevision, c.migration.kind])).toEqual([
      [0, 'a:1,a:1,f=pinned', snapshot.shards[0]!.modRevision, 'none'],
      [1, 'b:1,a:1,f=pinned', snapshot.shards[1]!.modRevision, 'none'],
      [5, 'a:1,a:1,f=pinned', snapshot.shards[5]!.modRevision, 'delete'],
    ]);
    expect(p.skipped).toEqual([
      { shardId: 2, reason: 'already pinned' },
      { shardId: 4, reason: 'shard has no key yet (not assigned); nothing to pin' },
    ]);
    const u = plan({ kind: 'unpin', shards: [0, 2] });
    expect(u.shardChanges.map((c) => c.new)).toEqual(['a:1,a:1']);
    expect(u.skipped).toEqual([{ shardId: 0, reason: 'not pinned' }]);
  });

  it('retarget with pin pins each shard in the same write, also one already on that target', () => {
    const p = plan({ kind: 'retarget', shards: [0, 1, 2], to: 'b:1', refusals: 'refuse', pin: true });
    expect(p.shardChanges.map((c) => [c.shardId, c.new])).toEqual([
      [0, 'b:1,a:1,f=pinned'],
      [1, 'b:1,a:1,f=pinned'],
      [2, 'b:1,a:1,f=pinned'],
    ]);
    expect(p.summary).toBe('retarget 3 shards to b:1 and pin them');
    const already = plan({ kind: 'retarget', shards: [2], to: 'a:1', refusals: 'refuse', pin: true });
    expect(already.skipped).toEqual([{ shardId: 2, reason: 'already targeted at a:1' }]);
    expect(plan({ kind: 'retarget', shards: [0], to: 'b:1', refusals: 'refuse', pin: true }).summary).toBe('retarget 1 shard to b:1 and pin it');
  });

  it('counts shards in its summaries in the right number', () => {
    expect(plan({ kind: 'pin', shards: [0] }).summary).toBe('pin 1 shard');
    expect(plan({ kind: 'pin', shards: [0, 1] }).summary).toBe('pin 2 shards');
    expect(plan({ kind: 'pin', shards: [2] }).summary).toBe('pin 0 shards');
    expect(plan({ kind: 'retarget', shards: [0], to: 'b:1', refusals: 'refuse' }).summary).toBe('retarget 1 shard to b:1');
    expect(plan({ kind: 'release', shards: [3], refusals: 'refuse' }).summary).toBe('release 1 shard, request release of 0');
  });

  it('retarget to a named node starts a migration record of an owned shard; to the best node never picks a draining one', () => {
    const p = plan({ kind: 'retarget', shards: [0, 1, 4], to: 'b:1', refusals: 'refuse' });
    expect(p.shardChanges.map((c) => [c.shardId, c.new, c.expectedModRevision, c.migration])).toEqual([
      [0, 'b:1,a:1', snapshot.shards[0]!.modRevision, { kind: 'put', record: { since: NOW, target: 'b:1', from: 'a:1' } }],
      // Nobody owns shard 4: nothing migrates from anyone, so no record.
      [4, 'b:1,', 0, { kind: 'none' }],
    ]);
    expect(p.skipped).toEqual([{ shardId: 1, reason: 'already targeted at b:1' }]);
    // Eligible: a and b (c drains), never the current target.
    const best = plan({ kind: 'retarget', shards: [0, 1], to: null, refusals: 'refuse' });
    expect(best.shardChanges.map((c) => c.after.target)).toEqual(['b:1', 'a:1']);
    expect(best.summary).toBe('retarget 2 shards to the best eligible nodes');
    const alone = { ...snapshot, nodes: new Map([...snapshot.nodes].filter(([n]) => n !== 'b:1')) };
    expect(planOperation({ kind: 'retarget', shards: [0], to: null, refusals: 'refuse' }, { ...context(), snapshot: alone }).skipped).toEqual([
      { shardId: 0, reason: 'no other eligible node' },
    ]);
  });

  it('refuses a target that is not alive or not eligible unless the refusals are overridden', () => {
    expect(refusalOf({ kind: 'retarget', shards: [0], to: 'gone:1', refusals: 'refuse' }).refusal).toEqual({ code: 'target-not-alive', node: 'gone:1' });
    expect(refusalOf({ kind: 'retarget', shards: [0], to: 'c:1', refusals: 'refuse' }).refusal).toEqual({
      code: 'target-ineligible',
      node: 'c:1',
      why: 'draining',
    });
    expect(plan({ kind: 'retarget', shards: [0], to: 'gone:1', refusals: 'override' }).shardChanges[0]!.new).toBe('gone:1,a:1');
    expect(plan({ kind: 'retarget', shards: [0], to: 'c:1', refusals: 'override' }).shardChanges[0]!.new).toBe('c:1,a:1');
    // Unknown or unstorable nodes are bad input, which no override turns into a write.
    expect(() => plan({ kind: 'retarget', shards: [0], to: 'nobody:1', refusals: 'override' })).toThrow(InvalidArgumentError);
    expect(() => plan({ kind: 'retarget', shards: [0], to: 'x:1,y', refusals: 'override' })).toThrow(InvalidArgumentError);
  });

  it('release clears dead owners, asks live migrating ones, and refuses live settled ones unless overridden', () => {
    const p = plan({ kind: 'release', shards: [0, 1, 3, 4, 6], refusals: 'refuse' });
    expect(p.shardChanges.map((c) => [c.shardId, c.new, c.migration.kind])).toEqual([[3, 'gone:1,', 'none']]);
    expect(p.recordChanges).toEqual([
      { id: '1', key: '/p/release-request/1', old: null, new: encodeRecord({ at: NOW, by: 'tester', owner: 'a:1' }), expectedModRevision: 0 },
    ]);
    expect(p.skipped).toEqual([
      { shardId: 0, reason: 'owned by alive node a:1 and not migrating; use --force to clear it anyway', refusal: { code: 'owner-alive', node: 'a:1', target: 'a:1' } },
      { shardId: 4, reason: 'no owner to release' },
      { shardId: 6, reason: 'owned by alive node a:1 and not migrating; use --force to clear it anyway', refusal: { code: 'owner-alive', node: 'a:1', target: '' } },
    ]);
    const forced = plan({ kind: 'release', shards: [0, 6], refusals: 'override' });
    expect(forced.shardChanges.map((c) => [c.shardId, c.new, c.migration.kind])).toEqual([
      [0, 'a:1,', 'none'],
      [6, ',', 'none'],
    ]);
    expect(forced.skipped).toEqual([]);
  });

  it('drain writes the drain record and retargets the unpinned shards targeted at the node', () => {
    const p = plan({ kind: 'drain', node: 'a:1' });
    expect(p.recordChanges).toEqual([{ id: 'a:1', key: '/p/drain/a:1', old: null, new: encodeRecord({ at: NOW, by: 'tester' }), expectedModRevision: 0 }]);
    expect(p.shardChanges.map((c) => [c.shardId, c.after.target, c.migration.kind])).toEqual([
      [0, 'b:1', 'put'],
      [5, 'b:1', 'put'],
    ]);
    expect(p.skipped).toEqual([{ shardId: 2, reason: 'pinned to a:1; unpin or retarget it by hand' }]);
    // Drained already: no second record, the shards still move.
    expect(plan({ kind: 'drain', node: 'c:1' }).recordChanges).toEqual([]);
    expect(() => plan({ kind: 'drain', node: 'nobody:1' })).toThrow(InvalidArgumentError);
  });

  it('undrain deletes the drain record compared against its ModRevision', () => {
    const drain = snapshot.drains.get('c:1')!;
    expect(plan({ kind: 'undrain', node: 'c:1' }).recordChanges).toEqual([
      { id: 'c:1', key: '/p/drain/c:1', old: encodeRecord({ at: 1, by: 'ops' }), new: null, expectedModRevision: drain.modRevision },
    ]);
    expect(plan({ kind: 'undrain', node: 'a:1' })).toMatchObject({ recordChanges: [], summary: 'a:1 is not drained' });
    expect(() => plan({ kind: 'undrain', node: 'nobody:1' })).toThrow(InvalidArgumentError);
  });

  it('pause replaces the pause record under a lease, within 1s and the context longest pause', () => {
    const p = plan({ kind: 'pause', forMs: 90_500, reason: 'upgrade' });
    expect(p.recordChanges).toEqual([
      {
        id: 'rebalance-pause',
        key: '/p/rebalance/pause',
        old: encodeRecord({ until: NOW + 60_000, by: 'ops', at: NOW - 1000, reason: 'x' }),
        new: encodeRecord({ until: NOW + 90_500, by: 'tester', at: NOW, reason: 'upgrade' }),
        expectedModRevision: snapshot.pause!.modRevision,
        leaseTtlSeconds: 91,
      },
    ]);
    expect(() => plan({ kind: 'pause', forMs: 999, reason: '' })).toThrow('a pause must last at least 1s');
    expect(() => plan({ kind: 'pause', forMs: DEFAULT_MAX_PAUSE_MS + 1, reason: '' })).toThrow(InvalidArgumentError);
    expect(() => plan({ kind: 'pause', forMs: 120_000, reason: '' }, { maxPauseMs: 60_000 })).toThrow(/longer than the longest allowed, 1m/);
    expect(plan({ kind: 'pause', forMs: 60_000, reason: '' }, { maxPauseMs: 60_000 }).recordChanges).toHaveLength(1);
  });

  it('resume deletes the pause record, or plans nothing when not paused', () => {
    expect(plan({ kind: 'resume' }).recordChanges).toEqual([
      {
        id: 'rebalance-pause',
        key: '/p/rebalance/pause',
        old: encodeRecord({ until: NOW + 60_000, by: 'ops', at: NOW - 1000, reason: 'x' }),
        new: null,
        expectedModRevision: snapshot.pause!.modRevision,
      },
    ]);
    const unpaused = { ...snapshot, pause: null };
    expect(planOperation({ kind: 'resume' }, { ...context(), snapshot: unpaused })).toMatchObject({ recordChanges: [], summary: 'rebalancing is not paused' });
  });

  it('refuses drain and pause while the leader is an upstream node (exit 3), naming pin and reassign; undrain and resume stay', () => {
    const led = (leader: string, withInfo: boolean): OperationContext => {
      const kvs = [kv('/p/leader', leader)];
      if (withInfo) kvs.push(kv(`/p/nodeinfo/${leader}`, encodeRecord({ nodeId: leader, opsUrl: '', apiUrl: '', version: '1', weight: 1, startedAt: 0, state: 'running' })));
      const withLeader = buildSnapshot('/p', 8, [...['a:1', 'b:1', 'c:1'].map((n) => kv(`/p/nodes/${n}`, n)), kv('/p/drain/c:1', encodeRecord({ at: 1, by: 'ops' })), kv('/p/shard/0', 'a:1,a:1'), ...kvs], rev);
      return { ...context(), snapshot: withLeader };
    };
    // a leads and publishes no nodeinfo: an upstream node.
    for (const request of [{ kind: 'drain', node: 'b:1' }, { kind: 'pause', forMs: 60_000, reason: '' }] as const) {
      let refused: unknown;
      try {
        planOperation(request, led('a:1', false));
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(UpstreamLeaderError);
      expect(refused).toMatchObject({ code: 'precondition', operation: request.kind, leader: 'a:1' });
      expect((refused as Error).message).toMatch(/^refused: the leader a:1 is an upstream Goverse node, which ignores .*goverse-top pin <shards>.*goverse-top reassign <shards> --to <node>/);
    }
    // Bad input is still bad input first.
    expect(() => planOperation({ kind: 'drain', node: 'nope:1' }, led('a:1', false))).toThrow(InvalidArgumentError);
    expect(() => planOperation({ kind: 'pause', forMs: 10, reason: '' }, led('a:1', false))).toThrow(InvalidArgumentError);
    // Removing records harms nothing under any leader; a leader of ours (with nodeinfo) takes both.
    expect(planOperation({ kind: 'undrain', node: 'c:1' }, led('a:1', false)).recordChanges).toHaveLength(1);
    expect(planOperation({ kind: 'resume' }, led('a:1', false)).operation).toBe('resume');
    expect(planOperation({ kind: 'drain', node: 'b:1' }, led('a:1', true)).recordChanges).toHaveLength(1);
    // A leader that is not alive is no upstream leader (the next one may be ours).
    expect(planOperation({ kind: 'pause', forMs: 60_000, reason: '' }, led('gone', false)).recordChanges).toHaveLength(1);
  });
});
