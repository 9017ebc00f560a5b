/**
 * Acceptance of the placement issue on real goverse-node processes: a hot shard set made by the demo's load
 * generator (real calls through the routing client), all of it on one node, is spread by the `load` strategy but
 * not by `count`; and under the `weighted` strategy a node of weight 2 ends with about twice the shards of each
 * node of weight 1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GoverseClient } from '../../../src/client/client.js';
import { LoadGenerator, ZipfSampler } from '../../../src/cli/demo/loadGenerator.js';
import { type OperationRequest, planOperation } from '../../../src/core/operations/operations.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot/snapshot.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { logRecords } from '../cluster/clusterTools.js';
import { json, runCli } from '../cli/cliRunner.js';
import { clusterClient, SLOW_MACHINE_ENV } from './acceptance.js';

let cluster: NodeCluster | null = null;
let client: GoverseClient | null = null;
let load: LoadGenerator | null = null;

afterEach(async () => {
  await load?.stop();
  await client?.close();
  await cluster?.close();
  load = null;
  client = null;
  cluster = null;
});

/** Shard IDs each node owns (CurrentNode), in ascending order. */
function owned(snap: ClusterSnapshot): Map<string, number[]> {
  const out = new Map<string, number[]>();
  snap.shards.forEach((e, id) => {
    if (e !== undefined && e.current !== '') out.set(e.current, [...(out.get(e.current) ?? []), id]);
  });
  return out;
}

/**
 * Waits until the leader itself says the cluster is balanced under `strategy`, every shard is owned by its target
 * and every node owns at least one shard. The leader publishes its status only when it changes; a node joining
 * makes it `waiting` first, so a `balanced` seen while a newcomer already owns shards is one made after the join.
 */
async function waitBalanced(c: NodeCluster, strategy: string, nodes: readonly TestNode[] = c.nodes, timeoutMs = 45_000): Promise<ClusterSnapshot> {
  let last = 'nothing read yet';
  return waitFor(
    `the ${strategy} balancer to call the cluster balanced`,
    async () => {
      const snap = await c.waitStable({ nodes, timeoutMs });
      const counts = NodeCluster.owners(snap);
      const status = snap.balancer;
      last = `owners ${JSON.stringify([...counts])}; balancer ${status === null ? 'none' : `${status.strategy} ${status.state}: ${status.reason}`}`;
      const everyoneOwns = nodes.every((n) => snap.nodes.has(n.address) && (counts.get(n.address) ?? 0) > 0);
      return everyoneOwns && status?.strategy === strategy && status.state === 'balanced' && snap;
    },
    { timeoutMs, intervalMs: 100, describe: () => last },
  );
}

/** How often a goverse-node publishes its load report (LOAD_REPORT_INTERVAL_MS in src/node/node.ts). */
const LOAD_REPORT_INTERVAL_MS = 3000;

/**
 * Waits until the hot shards have stayed put, each owned by its target, while every node published three more load
 * reports: the leader has then planned on at least two reports from each node that saw only the new placement, and
 * moved none of them. (The balancer may still shift cold shards, whose load is only the small base share.) A round
 * of moves is planned on reports made before it, so the placement right after it proves little.
 */
async function waitHotSetSettled(c: NodeCluster, hot: readonly number[], timeoutMs: number): Promise<ClusterSnapshot> {
  let revisions = '';
  let changedAt = 0;
  let last = 'nothing read yet';
  return waitFor(
    'the hot shards settled on fresh load reports',
    async () => {
      const snap = await c.snapshot();
      const now = Date.now();
      const seen = hot.map((id) => snap.shards[id]?.modRevision ?? 0).join(',');
      if (seen !== revisions) [revisions, changedAt] = [seen, now];
      const owned = hot.every((id) => {
        const e = snap.shards[id];
        return e !== undefined && e.target === e.current && snap.nodes.has(e.current);
      });
      const oldestReport = Math.min(...c.nodes.map((n) => snap.load.get(n.address)?.at ?? 0));
      last = `hot shards on ${JSON.stringify(hot.map((id) => snap.shards[id]?.raw))}, unchanged for ${now - changedAt} ms; balancer ${snap.balancer?.state}: ${snap.balancer?.reason}`;
      return owned && oldestReport - changedAt >= 3 * LOAD_REPORT_INTERVAL_MS && snap;
    },
    { timeoutMs, intervalMs: 100, describe: () => last },
  );
}

async function operate(c: NodeCluster, request: OperationRequest): Promise<void> {
  const ops = new ClusterOperations({ client: c.client, keys: c.keys });
  const result = await ops.execute(planOperation(request, { snapshot: await c.snapshot(), now: Date.now(), by: 'placement-test' }));
  expect(result.failed + result.conflicts).toBe(0);
}

interface PlanDoc {
  kind: 'write' | 'skip';
  reason: string | null;
  text: string;
  moves: { id: number; from: string; to: string }[];
}

describe('placement on real nodes', () => {
  it('a hot shard set on one node: `load` spreads it with real moves, `count` would move none of it', async () => {
    const SHARDS = 64;
    const HOT = 9;
    // The load settings are the defaults (band ±10%, calls plus CPU and memory); a budget of 3 moves per round and a
    // settle time of 4 s (above the 3 s report interval) between rounds only make the test quicker.
    const env = {
      ...SLOW_MACHINE_ENV,
      GOVERSE_REBALANCE_STRATEGY: 'load',
      GOVERSE_REBALANCE_MOVE_BUDGET: '3',
      GOVERSE_LOAD_SETTLE: '4s',
      // The counters are the load, not what is tested: no fsync per increment on a busy disk.
      GOVERSE_DB_SYNCHRONOUS: 'normal',
    };
    const c = (cluster = await NodeCluster.start({ nodes: 3, numShards: SHARDS, label: 'placement-load', env }));
    // With no load reported yet, `load` counts every shard equally.
    await waitBalanced(c, 'load');

    // Hold the balancer while the hot set builds up on one node, so both strategies can be asked about the same
    // state; the pause is a lease-bound record, so a failed test leaves nothing behind.
    await operate(c, { kind: 'pause', forMs: 120_000, reason: 'placement test builds a hot shard set' });
    await waitFor('the balancer paused', async () => (await c.snapshot()).balancer?.state === 'paused', { timeoutMs: 20_000, intervalMs: 100 });
    const [hotNode, hotNodeShards] = [...owned(await c.waitStable())].sort((a, b) => b[1].length - a[1].length)[0]!;
    const hot = hotNodeShards.slice(0, HOT);
    expect(hot).toHaveLength(HOT);
    const hotSet = new Set(hot);
    client = await clusterClient(c);
    // Exponent 0: every object equally popular, so each hot shard carries about the same call rate.
    load = new LoadGenerator(client, { objects: HOT * 10, ratePerSecond: 120, concurrency: 6, shards: hot }, new ZipfSampler(HOT * 10, 0));
    load.start();

    await waitFor(
      'load reports with calls on every hot shard',
      async () => {
        const report = (await c.snapshot()).load.get(hotNode);
        const busy = new Set(report?.shards.filter(([, , calls]) => calls > 0).map(([id]) => id));
        return hot.every((id) => busy.has(id));
      },
      { timeoutMs: 30_000, intervalMs: 200, describe: () => `calls ok ${load?.ok}, failed ${load?.failed}` },
    );
    const held = await c.snapshot();
    expect(owned(held).get(hotNode)).toEqual(expect.arrayContaining(hot));
    expect(held.balancer?.state).toBe('paused');

    // The same live cluster and load reports, asked with each strategy (dry runs: nothing is written).
    const cliEnv = {
      GOVERSE_ETCD_ENDPOINTS: c.etcd.endpoints.join(','),
      GOVERSE_ETCD_PREFIX: c.prefix,
      GOVERSE_NUM_SHARDS: String(SHARDS),
      GOVERSE_ETCD_TIMEOUT: '10s',
      GOVERSE_REBALANCE_MOVE_BUDGET: env.GOVERSE_REBALANCE_MOVE_BUDGET,
    };
    const [countRun, loadRun] = await Promise.all(['count', 'load'].map((s) => runCli(['rebalance', 'plan', '--strategy', s, '-o', 'json'], cliEnv)));
    expect(countRun!.code, countRun!.stderr).toBe(0);
    expect(loadRun!.code, loadRun!.stderr).toBe(0);
    const countPlan = json<PlanDoc>(countRun!);
    const loadPlan = json<PlanDoc>(loadRun!);
    // Shard counts are even, so `count` sees nothing to do: the hot set would stay where it is.
    expect(countPlan, countPlan.text).toMatchObject({ kind: 'skip', moves: [] });
    // `load` moves hot shards off the hot node, nothing else.
    expect(loadPlan.kind, loadPlan.text).toBe('write');
    expect(loadPlan.moves.length).toBeGreaterThan(0);
    for (const m of loadPlan.moves) {
      expect(hotSet.has(m.id), `move of cold shard ${m.id}`).toBe(true);
      expect(m.from).toBe(hotNode);
    }

    // Now for real: the leader, running `load`, spreads the hot set over the nodes and settles.
    const resumedAt = Date.now();
    await operate(c, { kind: 'resume' });
    const after = await waitHotSetSettled(c, hot, 90_000);
    const hotBy = new Map<string, number>();
    for (const id of hot) hotBy.set(after.shards[id]!.current, (hotBy.get(after.shards[id]!.current) ?? 0) + 1);
    const spread = JSON.stringify([...hotBy]);
    // Ideal is 3 each. The ±10% band is about a third of a hot shard, but CPU and memory are measured per node and
    // shared out over its busy shards, so a node may end one hot shard off; two off is far outside the band.
    for (const n of c.nodes) {
      expect(hotBy.get(n.address) ?? 0, spread).toBeGreaterThanOrEqual(2);
      expect(hotBy.get(n.address) ?? 0, spread).toBeLessThanOrEqual(4);
    }
    // Without churn: every shard the leaders moved to rebalance since the resume, against the 6 hot shards that had
    // to move (the balancer once moved 50 to 230 shards here, planning again on reports that predated its moves).
    const rebalanced = c.nodes
      .flatMap((n) => logRecords(n))
      .filter((r) => r.step === 'rebalance' && typeof r.written === 'number' && Date.parse(r.time) >= resumedAt);
    const movedTotal = rebalanced.reduce((sum, r) => sum + (r.written as number), 0);
    expect(movedTotal, `${rebalanced.length} rounds`).toBeLessThanOrEqual(2 * HOT);
    // The calls, as each owner measured them, are spread too: one node took all of them before.
    const rates = c.nodes.map((n) => {
      const report = after.load.get(n.address);
      return (report?.shards ?? []).filter(([id]) => hotSet.has(id) && after.shards[id]!.current === n.address).reduce((sum, [, , cps]) => sum + cps, 0);
    });
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    expect(Math.max(...rates) / mean, JSON.stringify(rates)).toBeLessThan(1.6);
  }, 180_000);

  it('weighted: a node of weight 2 joining two of weight 1 ends with about twice the shards of each', async () => {
    const SHARDS = 128;
    // The weighted strategy leaves the shards alone while max - min of count/ideal over the nodes is within the
    // threshold t, where ideal = shards * weight / total weight; count/ideal averages 1 (weighted), so its min is at
    // least 1 - t and its max at most min + t. The weight-2 node's share over a weight-1 node's is then 2 times
    // (count/ideal of one) / (count/ideal of the other), within [2 (1 - t), 2 / (1 - t)]: with t = 0.1 that is
    // [1.8, 2.22]. (A round, once started, usually ends within one shard of the ideal 64/32/32.)
    const THRESHOLD = 0.1;
    const env = {
      ...SLOW_MACHINE_ENV,
      GOVERSE_REBALANCE_STRATEGY: 'weighted',
      GOVERSE_IMBALANCE_THRESHOLD: String(THRESHOLD),
      GOVERSE_REBALANCE_BATCH_SIZE: '8',
    };
    const c = (cluster = await NodeCluster.start({ nodes: 2, numShards: SHARDS, label: 'placement-weight', env }));
    await waitBalanced(c, 'weighted');
    // The harness gives a node only the environment it is started with.
    const [heavy] = await c.addNodes(1, { ...env, GOVERSE_NODE_WEIGHT: '2' });
    const snap = await waitBalanced(c, 'weighted');
    expect(snap.nodeInfo.get(heavy!.address)?.weight).toBe(2);
    const counts = NodeCluster.owners(snap);
    const shares = JSON.stringify([...counts]);
    const h = counts.get(heavy!.address) ?? 0;
    for (const light of c.nodes.filter((n) => n !== heavy)) {
      const ratio = h / (counts.get(light.address) ?? 0);
      expect(ratio, shares).toBeGreaterThanOrEqual(2 * (1 - THRESHOLD));
      expect(ratio, shares).toBeLessThanOrEqual(2 / (1 - THRESHOLD));
    }
  });
});
