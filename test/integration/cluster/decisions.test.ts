/**
 * The leader's decision counter on real goverse-node processes: each skip reason a leader can reach is counted under
 * its own `reason` label (`outcome="skipped"`), driven one after another on one cluster: below quorum, not stable,
 * within the threshold, only pinned shards movable, paused, no eligible node. `not-all-assigned` and `all-assigned`
 * are the reassign planner's own answers (the leader reassigns before it rebalances), and the load strategy's
 * reasons are counted by the same line; both are covered by unit tests of the planners and the leader step.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type OperationRequest, planOperation } from '../../../src/core/operations/operations.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { leaderOf, metricOf } from './clusterTools.js';

const NUM_SHARDS = 32;
const ENV = { GOVERSE_LEASE_TTL: '6s', GOVERSE_MIN_QUORUM: '2', GOVERSE_STABILITY_DURATION: '1s', GOVERSE_IMBALANCE_THRESHOLD: '0.2' };

let cluster: NodeCluster | null = null;

afterAll(async () => {
  await cluster?.close();
});

async function operate(c: NodeCluster, request: OperationRequest): Promise<void> {
  const operations = new ClusterOperations({ client: c.client, keys: c.keys });
  const result = await operations.execute(planOperation(request, { snapshot: await c.snapshot(), now: Date.now(), by: 'decisions-test' }));
  expect(result.failed, JSON.stringify(result)).toBe(0);
}

/** The leader among `nodes` once it has counted at least one pass skipped for `reason`. */
async function waitSkipped(c: NodeCluster, nodes: readonly TestNode[], reason: string): Promise<TestNode> {
  let last = '';
  return waitFor(
    `the leader to count a pass skipped for ${reason}`,
    async () => {
      const address = (await leaderOf(c))?.address;
      const leader = nodes.find((n) => n.address === address);
      if (leader === undefined) return null;
      const n = await metricOf(leader, 'goverse_rebalance_decisions_total', { outcome: 'skipped', reason });
      last = `leader ${address}: ${n}; balancer ${JSON.stringify((await c.snapshot()).balancer)}`;
      return n > 0 && leader;
    },
    { timeoutMs: 30_000, intervalMs: 100, describe: () => last },
  );
}

describe('the decision counter on a real leader', () => {
  it('labels each skip reason a leader reaches', async () => {
    const c = (cluster = await NodeCluster.start({ nodes: 0, numShards: NUM_SHARDS, label: 'decisions' }));
    const [a] = await c.addNodes(1, ENV);
    await waitSkipped(c, [a!], 'below-quorum');

    const [b] = await c.addNodes(1, ENV);
    await waitSkipped(c, [a!, b!], 'not-stable');
    await waitSkipped(c, [a!, b!], 'balanced');
    // 16/16 becomes 17/15: a spread of 2 is inside 0.2 of the ideal 16, and a move back would not be one better.
    const moved = (await c.snapshot()).shards.findIndex((e) => e?.target === b!.address);
    await operate(c, { kind: 'retarget', shards: [moved], to: a!.address, refusals: 'refuse' });
    await waitSkipped(c, [a!, b!], 'within-threshold');

    // Every shard pinned where it is: the two nodes that would give shards to a third hold nothing movable.
    await operate(c, { kind: 'pin', shards: Array.from({ length: NUM_SHARDS }, (_, i) => i) });
    const [third] = await c.addNodes(1, ENV);
    const all = [a!, b!, third!];
    await waitSkipped(c, all, 'only-pinned-movable');

    await operate(c, { kind: 'pause', forMs: 600_000, reason: 'decisions test' });
    await waitSkipped(c, all, 'paused');

    for (const n of all) await operate(c, { kind: 'drain', node: n.address });
    const leader = await waitSkipped(c, all, 'no-nodes');

    // One label per reason: a pass is counted under the reason it stopped at, never under another.
    const reasons = ['below-quorum', 'not-stable', 'balanced', 'within-threshold', 'only-pinned-movable', 'paused', 'no-nodes'];
    const counted = await Promise.all(
      reasons.map(async (reason) => metricOf(leader, 'goverse_rebalance_decisions_total', { outcome: 'skipped', reason })),
    );
    const total = await metricOf(leader, 'goverse_rebalance_decisions_total', { outcome: 'skipped' });
    expect(counted.reduce((s, n) => s + n, 0)).toBeLessThanOrEqual(total);
  });
});
