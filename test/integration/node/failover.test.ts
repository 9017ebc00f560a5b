import { afterEach, describe, expect, it } from 'vitest';
import { NodeCluster } from '../../harness/nodes.js';
import { waitSettled } from '../../harness/settled.js';

describe('goverse-node processes: assignment and failover', () => {
  let cluster: NodeCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('3 nodes own 64 shards evenly; after kill -9 of one the survivors own all within TTL + stability + 1 s', async () => {
    cluster = await NodeCluster.start({ nodes: 3, numShards: 64, label: 'failover' });
    // Settled, not just stable: a node that registered late gets its share by rebalance after the first assignment.
    const snap = await waitSettled(cluster);
    const owners = NodeCluster.owners(snap);
    expect(owners.size).toBe(3);
    expect(Math.max(...owners.values()) - Math.min(...owners.values())).toBeLessThanOrEqual(4);

    const victim = cluster.node(2);
    const killedAt = performance.now();
    await victim.kill();
    await cluster.waitStable({ nodes: [cluster.node(0), cluster.node(1)], timeoutMs: 15_000 });
    // The bound of the issue: lease TTL (3 s) + stability (300 ms) + 1 s. Measured about 3.5 s on an idle machine.
    expect(performance.now() - killedAt).toBeLessThan(3000 + 300 + 1000);
  });
});
