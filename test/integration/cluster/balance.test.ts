/**
 * Balance under the default `count` strategy on real goverse-node processes: nodes weighted 1:2:4 end within the
 * imbalance threshold of their weighted shares and stay there (count used to undo the weights, moving toward equal
 * counts), and after a node of four leaves, the other three end balanced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../../src/core/snapshot/snapshot.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { leaderOf, metricOf, settledCounts, waitBalanced } from './clusterTools.js';

const THRESHOLD = 0.2;
/** Long enough that three periods are a real wait for a leader pass, short enough for CI. */
const STABILITY_MS = 1500;
/** A loaded machine must not fence a node by accident. */
const ENV = { GOVERSE_LEASE_TTL: '6s', GOVERSE_STABILITY_DURATION: `${STABILITY_MS}ms`, GOVERSE_IMBALANCE_THRESHOLD: String(THRESHOLD) };

let cluster: NodeCluster | null = null;

afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

/** max - min over the nodes of owned / weighted ideal (numShards * w / Σw): what count's threshold bounds. */
function weightedSpread(counts: ReadonlyMap<string, number>, weights: ReadonlyMap<string, number>, numShards: number): number {
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  const ratios = [...weights].map(([a, w]) => (counts.get(a) ?? 0) / ((numShards * w) / total));
  return Math.max(...ratios) - Math.min(...ratios);
}

/** Every shard's target, in shard order: what a move changes. */
const targets = (snap: ClusterSnapshot): string => snap.shards.map((e) => e?.target ?? '').join(',');

/**
 * Waits until the shards have kept their targets for three stability periods while the leader decided at least three
 * more times to leave them (`skipped` decisions on its /metrics): a condition on the leader's own passes, not a sleep.
 * Fails at once when a target changes.
 */
async function expectNoMoves(c: NodeCluster, from: ClusterSnapshot): Promise<void> {
  const leader = c.nodes.find((n) => n.address === from.leader?.address)!;
  const decided = () => metricOf(leader, 'goverse_rebalance_decisions_total', { outcome: 'skipped' });
  const [before, since, mapping] = [await decided(), performance.now(), targets(from)];
  await waitFor(
    'three stability periods without a move, the leader deciding to leave the shards',
    async () => {
      const snap = await c.snapshot();
      expect(targets(snap), 'a shard moved').toBe(mapping);
      return performance.now() - since >= 3 * STABILITY_MS && (await decided()) >= before + 3;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

describe('count balances on real nodes', () => {
  it('toward weighted shares: nodes of weight 1, 2 and 4 end within the threshold of theirs, and stay there', async () => {
    const NUM_SHARDS = 512;
    const env = { ...ENV, GOVERSE_REBALANCE_BATCH_SIZE: '32' };
    const c = (cluster = await NodeCluster.start({ nodes: 0, numShards: NUM_SHARDS, label: 'balance-weights' }));
    // The weight-1 node takes every shard, then the heavier ones join: count must move shards by weight, not evenly.
    const [light] = await c.addNodes(1, { ...env, GOVERSE_NODE_WEIGHT: '1' });
    await waitBalanced(c, [light!], 0);
    const [medium] = await c.addNodes(1, { ...env, GOVERSE_NODE_WEIGHT: '2' });
    const [heavy] = await c.addNodes(1, { ...env, GOVERSE_NODE_WEIGHT: '4' });
    const weights = new Map([
      [light!.address, 1],
      [medium!.address, 2],
      [heavy!.address, 4],
    ]);
    let last = '';
    const settled = await waitFor(
      'shards settled within the threshold of the weighted shares, the leader calling it balanced',
      async () => {
        const snap = await c.snapshot();
        const counts = settledCounts(snap, [...weights.keys()]);
        last = `${JSON.stringify(counts && [...counts])}; balancer ${snap.balancer?.strategy} ${snap.balancer?.state}: ${snap.balancer?.reason}`;
        if (counts === null || weightedSpread(counts, weights, NUM_SHARDS) > THRESHOLD) return null;
        return snap.balancer?.state === 'balanced' && snap.balancer.leader === snap.leader?.address && snap.balancer.strategy === 'count' && snap;
      },
      { timeoutMs: 60_000, intervalMs: 100, describe: () => last },
    );
    const counts = settledCounts(settled, [...weights.keys()])!;
    // Equal counts (171 each) would be a spread of 1.0 of the weighted ideals 73/146/293.
    expect(counts.get(light!.address)!).toBeLessThan(counts.get(medium!.address)!);
    expect(counts.get(medium!.address)!).toBeLessThan(counts.get(heavy!.address)!);
    // The leader's own words: it measured the spread against the weighted shares.
    expect(settled.balancer?.reason).toContain('weighted shards');
    await expectNoMoves(c, settled);
  });

  it('after scale-down: a node of four stops, the other three end balanced and keep every shard', async () => {
    const NUM_SHARDS = 64;
    const env = { ...ENV, GOVERSE_REBALANCE_BATCH_SIZE: '8' };
    const c = (cluster = await NodeCluster.start({ nodes: 4, numShards: NUM_SHARDS, label: 'balance-scale-down', env }));
    // count stops within 0.2 of the ideal: 3.2 shards of 16 for four nodes, 4.27 of 21.33 for three.
    await waitBalanced(c, c.nodes, 3, 45_000);
    const leader = (await leaderOf(c))!.address;
    // A node other than the leader, so the balance is the same leader's work before and after.
    const leaving = c.nodes.find((n) => n.address !== leader)!;
    const exit = await leaving.stop();
    expect(exit.code).toBe(0);
    const rest: TestNode[] = c.nodes.filter((n) => n !== leaving);
    const after = await waitBalanced(c, rest, 4, 45_000);
    const counts = settledCounts(after, rest.map((n) => n.address))!;
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(NUM_SHARDS);
    expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(THRESHOLD * (NUM_SHARDS / 3));
    expect(after.nodes.has(leaving.address)).toBe(false);
    await expectNoMoves(c, after);
  });
});
