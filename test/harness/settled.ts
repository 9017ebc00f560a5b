/** Waiting for a node cluster that has finished (re)balancing, for tests and benchmarks that need shards to stay put. */
import { planCount } from '../../src/core/planner/count.js';
import type { ClusterSnapshot } from '../../src/core/snapshot/snapshot.js';
import type { NodeCluster, TestNode } from './nodes.js';
import { waitFor } from './waitFor.js';

/**
 * Waits until the cluster will not move a shard by itself: every one of `nodes` (default: the running ones) is
 * registered, every shard is owned by its target among them, and the balancer (the harness runs the default count
 * strategy and threshold) has nothing left to move. `waitStable` alone can return before a slow node registers,
 * when the first node has taken every shard and the rebalance has yet to run.
 */
export async function waitSettled(cluster: NodeCluster, nodes: readonly TestNode[] = cluster.nodes.filter((n) => n.running)): Promise<ClusterSnapshot> {
  let last = '';
  return waitFor(
    'a settled cluster',
    async () => {
      const snap = await cluster.waitStable({ nodes });
      const alive = nodes.every((n) => snap.nodes.has(n.address));
      const plan = planCount(snap, { batchSize: 1, imbalanceThreshold: 0.2 });
      last = `alive: ${alive}; balancer: ${plan.kind === 'skip' ? plan.reason : plan.text}`;
      return alive && plan.kind === 'skip' && snap;
    },
    { timeoutMs: 45_000, intervalMs: 50, describe: () => last },
  );
}

