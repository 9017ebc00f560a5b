/**
 * Issue 4 acceptance, core operations (`planOperation` executed by src/edge/operations) on real etcd with 3 goverse-node processes: pin,
 * unpin, retarget, release, drain, undrain, pause and resume. A lost CAS comes back as a typed conflict with the value
 * found, and the other writer's value stays; flags survive every path, the nodes' claims and releases included;
 * a retarget to a node that is not alive (or not eligible) is refused unless forced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PreconditionError } from '../../../src/core/errors.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { type OperationContext, type OperationPlan, type OperationRequest, planOperation } from '../../../src/core/operations/operations.js';
import type { OperationResult } from '../../../src/core/operations/result.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { casShard, ownedBy, ShardHistory, waitBalanced } from './clusterTools.js';

const NUM_SHARDS = 32;
const GHOST = '127.0.0.1:9';

let etcd: EtcdCluster;
let cluster: NodeCluster;
let ops: ClusterOperations;
let keys: Keyspace;
let a: TestNode;
let b: TestNode;
let c: TestNode;

beforeAll(async () => {
  etcd = await startEtcd('cluster-operations');
  cluster = await NodeCluster.start({ etcd, nodes: 3, numShards: NUM_SHARDS, label: 'operations', env: { GOVERSE_STUCK_TIMEOUT: '1m' } });
  ops = new ClusterOperations({ client: cluster.client, keys: cluster.keys });
  keys = new Keyspace(cluster.prefix);
  [a, b, c] = cluster.nodes as [TestNode, TestNode, TestNode];
  await waitBalanced(cluster, cluster.nodes, 2);
  // The tests move shards by hand; paused, the count strategy does not move them about meanwhile.
  await pauseRebalancing();
});

function pauseRebalancing(): Promise<OperationResult> {
  return run({ kind: 'pause', forMs: 600_000, reason: 'operations tests' });
}

afterAll(async () => {
  await cluster?.close();
  await etcd?.close();
});

const context = async (): Promise<OperationContext> => ({ snapshot: await cluster.snapshot(), now: Date.now(), by: 'test@operations' });

async function settledShardOf(node: TestNode, skip: readonly number[] = []): Promise<number> {
  const snap = await cluster.waitStable({ timeoutMs: 15_000 });
  const e = ownedBy(snap, node.address).find((x) => !skip.includes(x.id));
  if (e === undefined) throw new Error(`${node.address} owns no shard`);
  return e.id;
}

/** Plans a request against a fresh snapshot. */
async function plan(request: OperationRequest): Promise<OperationPlan> {
  return planOperation(request, await context());
}

async function run(request: OperationRequest): Promise<OperationResult> {
  return ops.execute(await plan(request));
}

/** Plans from the current snapshot, lets `interfere` write first, then executes the stale plan. */
async function race(request: OperationRequest, interfere: () => Promise<void>): Promise<OperationResult> {
  const stale = await plan(request);
  await interfere();
  return ops.execute(stale);
}

function expectConflictOn(result: OperationResult, key: string, found: string | null): void {
  const change = result.changes.find((ch) => ch.key === key);
  expect(change, `a change of ${key}`).toBeDefined();
  expect(change).toMatchObject({ outcome: 'conflict', written: false, found });
  expect(result.conflicts).toBeGreaterThan(0);
}

describe('core operations on a live cluster', () => {
  it('every operation reports a lost CAS as a typed conflict with the value found, and the other write stays', async () => {
    const shard = await settledShardOf(a);
    const shardKey = keys.shard(shard);
    const interfereOnShard = async (): Promise<string> => {
      await casShard(cluster.client, cluster.prefix, shard, (v) => ({ ...v, flags: [...v.flags, `x${Date.now()}`] }));
      return (await cluster.client.get(shardKey))!.value;
    };
    let theirs = '';
    const shardRace = async (request: OperationRequest) => {
      const result = await race(request, async () => {
        theirs = await interfereOnShard();
      });
      expectConflictOn(result, shardKey, theirs);
      expect((await cluster.client.get(shardKey))!.value).toBe(theirs);
    };

    await shardRace({ kind: 'pin', shards: [shard] });
    await run({ kind: 'pin', shards: [shard] });
    await shardRace({ kind: 'unpin', shards: [shard] });
    await shardRace({ kind: 'retarget', shards: [shard], to: b.address, refusals: 'refuse' });
    await shardRace({ kind: 'release', shards: [shard], refusals: 'override' });
    await run({ kind: 'unpin', shards: [shard] });
    // Release of a live owner mid-migration is a release request, CAS on its record. The owner is frozen so that it
    // does not release by itself meanwhile.
    const requestKey = keys.releaseRequest(shard);
    const theirRequest = encodeRecord({ at: 1, by: 'someone-else', owner: a.address });
    a.freeze();
    try {
      await casShard(cluster.client, cluster.prefix, shard, (v) => ({ ...v, target: GHOST, flags: ['pinned'] }));
      expectConflictOn(
        await race({ kind: 'release', shards: [shard], refusals: 'refuse' }, async () => void (await cluster.client.put(requestKey, theirRequest))),
        requestKey,
        theirRequest,
      );
      expect((await cluster.client.get(requestKey))!.value).toBe(theirRequest);
    } finally {
      await casShard(cluster.client, cluster.prefix, shard, (v) => ({ ...v, target: a.address, flags: [] }));
      a.thaw();
    }

    // Drain and undrain: CAS on the drain record (and on every retargeted shard).
    const drainKey = keys.drain(c.address);
    const theirDrain = encodeRecord({ at: 1, by: 'someone-else' });
    expectConflictOn(
      await race({ kind: 'drain', node: c.address }, async () => void (await cluster.client.put(drainKey, theirDrain))),
      drainKey,
      theirDrain,
    );
    await cluster.client.delete(drainKey);
    await run({ kind: 'drain', node: c.address });
    const rewritten = encodeRecord({ at: 2, by: 'someone-else' });
    expectConflictOn(await race({ kind: 'undrain', node: c.address }, async () => void (await cluster.client.put(drainKey, rewritten))), drainKey, rewritten);
    expect((await run({ kind: 'undrain', node: c.address })).changes[0]!.outcome).toBe('written');

    // Pause and resume: CAS on the pause record (the tests' own pause is in place).
    const pauseKey = keys.rebalancePause;
    const theirPause = encodeRecord({ until: Date.now() + 60_000, by: 'someone-else', at: Date.now(), reason: 'theirs' });
    expectConflictOn(await race({ kind: 'pause', forMs: 60_000, reason: '' }, async () => void (await cluster.client.put(pauseKey, theirPause))), pauseKey, theirPause);
    const repaused = encodeRecord({ until: Date.now() + 90_000, by: 'someone-else', at: Date.now(), reason: 'again' });
    expectConflictOn(await race({ kind: 'resume' }, async () => void (await cluster.client.put(pauseKey, repaused))), pauseKey, repaused);
    expect((await cluster.client.get(pauseKey))!.value).toBe(repaused);
    expect((await run({ kind: 'resume' })).changes[0]!.outcome).toBe('written');
    expect(await cluster.client.get(pauseKey)).toBeNull();
    expect((await pauseRebalancing()).changes[0]!.outcome).toBe('written');
  });

  it('flags survive pin, unpin, retarget, release, drain and the nodes’ own claims and releases', async () => {
    // The balancer may still move a shard between the pick and the write (the CAS then loses): pick again.
    let shard = -1;
    await waitFor('a settled shard of a to take a custom flag', async () => {
      shard = await settledShardOf(a);
      return casShard(cluster.client, cluster.prefix, shard, (v) => ({ ...v, flags: ['x-custom'] })).then(
        () => true,
        () => false,
      );
    });
    const history = await ShardHistory.start(cluster);
    await run({ kind: 'pin', shards: [shard] });
    // A pinned shard moved by hand stays pinned where it goes; the nodes release and claim it with both flags.
    expect((await run({ kind: 'retarget', shards: [shard], to: b.address, refusals: 'refuse' })).changes.map((ch) => ch.outcome)).toEqual(['written']);
    let raw = '';
    await waitFor('moved to b', async () => (raw = (await cluster.snapshot()).shards[shard]!.raw) === `${b.address},${b.address},f=x-custom,f=pinned`, {
      describe: () => raw,
    });
    // Drain skips pinned shards: the shard stays, flags and all.
    const drain = await run({ kind: 'drain', node: b.address });
    expect(drain.skipped).toContainEqual({ shardId: shard, reason: `pinned to ${b.address}; unpin or retarget it by hand` });
    await run({ kind: 'undrain', node: b.address });
    await run({ kind: 'unpin', shards: [shard] });
    // A forced release clears the owner; its target claims it again.
    await run({ kind: 'release', shards: [shard], refusals: 'override' });
    await waitFor('claimed again', async () => (await cluster.snapshot()).shards[shard]!.raw === `${b.address},${b.address},f=x-custom`);
    await history.stop();
    const writes = history.of(shard);
    expect(writes.length).toBeGreaterThanOrEqual(6);
    for (const raw of writes) expect(raw, `every write of shard ${shard} keeps the unknown flag`).toContain('f=x-custom');
  });

  it('a retarget to a node that is not alive or not eligible is refused unless forced', async () => {
    const shard = await settledShardOf(a);
    const other = await settledShardOf(a, [shard]);
    const settledOn = (nodes: readonly TestNode[]) =>
      waitFor(`shard ${shard} settled on ${nodes.map((n) => n.address).join(' or ')}`, async () => {
        const e = (await cluster.snapshot()).shards[shard]!;
        return e.target === e.current && nodes.some((n) => n.address === e.current);
      });
    await expect(plan({ kind: 'retarget', shards: [shard], to: '127.0.0.1:8', refusals: 'refuse' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(plan({ kind: 'retarget', shards: [shard], to: '127.0.0.1:8', refusals: 'override' })).rejects.toBeInstanceOf(InvalidArgumentError);
    // GHOST becomes a known node that is not alive: a pinned shard names it.
    await casShard(cluster.client, cluster.prefix, other, () => ({ target: GHOST, current: '', flags: ['pinned'] }));
    try {
      const refusal = await plan({ kind: 'retarget', shards: [shard], to: GHOST, refusals: 'refuse' }).catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(PreconditionError);
      expect((refusal as Error).message).toMatch(/not alive; use --force/);
      const forcedDead = await run({ kind: 'retarget', shards: [shard], to: GHOST, refusals: 'override' });
      expect(forcedDead.changes[0]).toMatchObject({ outcome: 'written', new: `${GHOST},${a.address}` });
      // Unpinned and targeted at a dead node: the leader gives it an alive target again.
      await settledOn([a, b, c]);

      // Draining nodes are alive but not eligible.
      await run({ kind: 'drain', node: c.address });
      await expect(plan({ kind: 'retarget', shards: [shard], to: c.address, refusals: 'refuse' })).rejects.toThrow(/is draining; use --force/);
      const forcedDrained = await run({ kind: 'retarget', shards: [shard], to: c.address, refusals: 'override' });
      expect(forcedDrained.changes[0]!.outcome).toBe('written');
      await run({ kind: 'undrain', node: c.address });
      await settledOn([a, b, c]);
    } finally {
      await casShard(cluster.client, cluster.prefix, other, () => ({ target: a.address, current: '', flags: [] }));
    }
  });

  it('drain hands every unpinned shard of a node over; undrain makes it eligible again; a pause is seen by the leader and expires by itself', async () => {
    const pinned = await settledShardOf(b);
    await run({ kind: 'pin', shards: [pinned] });
    const drain = await run({ kind: 'drain', node: b.address });
    expect(drain.failed + drain.conflicts).toBe(0);
    let left: string[] = [];
    const snap = await waitFor(
      'b keeps only its pinned shard',
      async () => {
        const s = await cluster.snapshot();
        const on = s.shards.filter((e) => e !== undefined && (e.target === b.address || e.current === b.address));
        left = on.map((e) => `${e!.id}: ${e!.raw}`);
        return on.length === 1 && on[0]!.id === pinned ? s : null;
      },
      { describe: () => `pinned ${pinned}; ${left.join('; ')}` },
    );
    expect(snap.drains.has(b.address)).toBe(true);
    await run({ kind: 'undrain', node: b.address });
    await run({ kind: 'unpin', shards: [pinned] });
    expect((await run({ kind: 'resume' })).changes[0]!.outcome).toBe('written');
    await waitFor('b gets shards again by rebalance', async () => ownedBy(await cluster.snapshot(), b.address).length >= 5, { timeoutMs: 15_000 });

    const pause = await run({ kind: 'pause', forMs: 2000, reason: 'short' });
    expect(pause.changes[0]!.outcome).toBe('written');
    await waitFor('the leader reports the pause', async () => (await cluster.snapshot()).balancer?.state === 'paused');
    await waitFor('the pause expires by itself', async () => (await cluster.client.get(keys.rebalancePause)) === null, { timeoutMs: 10_000 });
    await waitFor('the leader balances again', async () => (await cluster.snapshot()).balancer?.state === 'balanced', { timeoutMs: 10_000 });
  });
});
