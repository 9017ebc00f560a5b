/**
 * Changing the shard count of a live cluster (docs/RESHARDING.md) on real goverse-node processes under a steady
 * Counter load: 64 -> 128 -> 64, a node killed mid-split, the leader killed mid-merge, an abort mid-split, and a node
 * whose explicit count disagrees with the cluster's record. The chaos checker judges every run: no object active in
 * two incarnations at once, every acknowledged increment in its counter; and calls may fail only retriably.
 */
import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { NODE_BIN, NodeCluster } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { closeLoaded, finish, type LoadedCluster, leaderNode, loadedCluster, operate, snapshot, waitCount, waitProgress } from './reshardTools.js';

let loaded: LoadedCluster | null = null;

afterEach(async () => {
  if (loaded !== null) await closeLoaded(loaded);
  loaded = null;
});

async function waitForMore(c: LoadedCluster, more: number): Promise<void> {
  const target = c.load.stats.acknowledged + more;
  await waitFor(`${target} acknowledged increments`, () => c.load.stats.acknowledged >= target, { timeoutMs: 30_000 });
}

describe('resharding under load', () => {
  it('splits 64 -> 128 and merges back to 64 without losing an acknowledged increment', async () => {
    const c = (loaded = await loadedCluster(64));
    await operate(c, { kind: 'reshard', to: 128 });
    const split = await waitCount(c, 128);
    expect(split.layout).toMatchObject({ count: 128, transition: null, reshards: 1 });
    expect(split.shards.filter((e) => e !== undefined)).toHaveLength(128);
    await waitForMore(c, 200);
    await operate(c, { kind: 'reshard', to: 64 });
    const merged = await waitCount(c, 64);
    expect(merged.layout).toMatchObject({ count: 64, transition: null, reshards: 2 });
    expect(merged.shards).toHaveLength(64);
    await waitForMore(c, 200);
    expect(await finish(c)).toEqual([]);
  });

  it('a node killed mid-split: its pairs are split once its shards have moved', async () => {
    const c = (loaded = await loadedCluster(64));
    const leader = await leaderNode(c);
    const victim = c.cluster.nodes.find((n) => n !== leader)!;
    // Frozen, the victim cannot split its pairs: the split is surely mid-way when it dies.
    victim.freeze();
    await operate(c, { kind: 'reshard', to: 128 });
    const mid = await waitProgress(c, 1);
    expect(mid.layout.transition).toMatchObject({ kind: 'split', state: 'running' });
    await victim.kill();
    await waitCount(c, 128);
    await victim.start();
    await waitCount(c, 128);
    await waitForMore(c, 100);
    expect(await finish(c)).toEqual([]);
  });

  it('the leader killed mid-merge: a new leader co-locates, merges and completes', async () => {
    const c = (loaded = await loadedCluster(64));
    await operate(c, { kind: 'reshard', to: 128 });
    const split = await waitCount(c, 128);
    // Pull pairs apart so the merge has to co-locate them first (ordinary migrations).
    const nodes = c.cluster.nodes.map((n) => n.address);
    const apart = [...Array(24).keys()].map((i) => 64 + i);
    for (const id of apart) {
      const other = nodes.find((a) => a !== split.shards[id - 64]!.target)!;
      await operate(c, { kind: 'retarget', shards: [id], to: other, refusals: 'refuse' });
    }
    await waitCount(c, 128);
    const leader = await leaderNode(c);
    // Frozen, the leader neither co-locates nor completes: the merge is surely mid-way when it dies.
    leader.freeze();
    await operate(c, { kind: 'reshard', to: 64 });
    const mid = await waitProgress(c, 1);
    expect(mid.layout.transition).toMatchObject({ kind: 'merge', state: 'running' });
    await leader.kill();
    await waitCount(c, 64);
    await leader.start();
    await waitCount(c, 64);
    await waitForMore(c, 100);
    expect(await finish(c)).toEqual([]);
  });

  it('an abort mid-split merges back what was split and restores the count', async () => {
    const c = (loaded = await loadedCluster(64));
    const leader = await leaderNode(c);
    // A frozen owner cannot split its pairs: the split stays mid-way until the abort.
    const frozen = c.cluster.nodes.find((n) => n !== leader)!;
    frozen.freeze();
    try {
      await operate(c, { kind: 'reshard', to: 128 });
      const mid = await waitProgress(c, 1);
      expect(mid.layout.transition).toMatchObject({ state: 'running' });
      await operate(c, { kind: 'reshard-abort' });
      expect((await snapshot(c)).layout.transition).toMatchObject({ state: 'aborting' });
    } finally {
      frozen.thaw();
    }
    const back = await waitCount(c, 64);
    expect(back.layout).toMatchObject({ count: 64, reshards: 0, transition: null });
    expect(back.shards).toHaveLength(64);
    await waitForMore(c, 100);
    expect(await finish(c)).toEqual([]);
  });
});

describe('the shard count at start', () => {
  let cluster: NodeCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('a node whose explicit --num-shards disagrees with the record exits 2 naming both; a default one follows', async () => {
    cluster = await NodeCluster.start({ nodes: 1, numShards: 64, label: 'reshard-wrong-count' });
    const env = { ...process.env, GOVERSE_ETCD_ENDPOINTS: cluster.etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: cluster.prefix, GOVERSE_NUM_SHARDS: '' };
    const args = [NODE_BIN, '--listen', '127.0.0.1:0', '--num-shards', '128', '--db', `${cluster.dir}/wrong.sqlite`];
    const wrong = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, args, { env, timeout: 60_000 }, (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("flag --num-shards: 128 shards configured, but the cluster's record");
    expect(wrong.stderr).toContain('says 64');
    cluster.followShardCount();
    const [follower] = await cluster.addNodes(1);
    await cluster.waitStable({ nodes: cluster.nodes, timeoutMs: 30_000 });
    expect(follower!.running).toBe(true);
  });
});
