/**
 * `goverse-top reshard` as the built binary against real goverse-node processes: the plan of a dry run, the refusal
 * while an upstream node is a member (exit 3), a "no" at the prompt, a two-step split with --wait (progress on
 * stderr, JSON result), an abort with nothing to abort, and a process whose explicit count disagrees afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeShardCount } from '../../../src/core/keyspace/shardCount.js';
import { NodeCluster } from '../../harness/nodes.js';
import { type CliResult, InteractiveCli, json, runCli } from './cliRunner.js';

let cluster: NodeCluster;
let env: Record<string, string>;
const cli = (...args: string[]): Promise<CliResult> => runCli(args, env, 120_000);

async function record(): Promise<unknown> {
  const kv = await cluster.client.get(cluster.keys.shardCount);
  return kv === null ? null : decodeShardCount(kv.value);
}

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 2, numShards: 16, label: 'cli-reshard' });
  cluster.followShardCount();
  await cluster.waitStable({ timeoutMs: 60_000 });
  // No GOVERSE_NUM_SHARDS: the CLI follows the cluster's record.
  env = { GOVERSE_ETCD_ENDPOINTS: cluster.etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: cluster.prefix, GOVERSE_ETCD_TIMEOUT: '10s' };
}, 90_000);

afterAll(async () => {
  await cluster?.close();
});

describe('goverse-top reshard', () => {
  it('prints the plan of a dry run and writes nothing', async () => {
    const before = await record();
    const r = await cli('reshard', '--to', '64', '--dry-run', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ operation: 'reshard', outcome: 'dry-run', target: 64, count: 16, plan: { kind: 'split', from: 16, to: 32, steps: 2, pairs: 16 } });
    const table = await cli('reshard', '--to', '8', '--dry-run');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('merge 16 -> 8 shards');
    expect(table.stdout).toContain('fixed-shard IDs shard#8..15/* become invalid');
    expect(await record()).toEqual(before);
  });

  it('refuses while an upstream node is a member (exit 3), and on a "no" at the prompt (exit 1)', async () => {
    const lease = await cluster.client.grantLease(30);
    await cluster.client.put(`${cluster.prefix}/nodes/127.0.0.1:1`, '127.0.0.1:1', { lease: lease.id });
    try {
      const r = await cli('reshard', '--to', '32', '--yes');
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('node 127.0.0.1:1 cannot follow a count change (an upstream node)');
    } finally {
      await cluster.client.revokeLease(lease.id);
    }
    const asked = new InteractiveCli(['reshard', '--to', '32'], env);
    await asked.prompted();
    expect(asked.stderr).toContain('split 16 -> 32 shards: start? [y/N]');
    const no = await asked.answer('n');
    expect(no.code).toBe(1);
    expect((await record()) as object).toMatchObject({ ok: true, record: { count: 16, transition: null } });
  });

  it('--wait runs every step to the count asked for, progress on stderr, and the result as JSON', async () => {
    const r = await cli('reshard', '--to', '64', '--yes', '--wait', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ operation: 'reshard', outcome: 'completed', target: 64, count: 64, plan: { from: 16, to: 32, steps: 2 } });
    expect(r.stderr).toMatch(/split 16 -> 32: \d+\/16 pairs split/);
    expect(r.stderr).toContain('split 32 -> 64 shards: started');
    expect((await record()) as object).toMatchObject({ ok: true, record: { count: 64, transition: null, reshards: 2 } });
    await cluster.waitStable({ timeoutMs: 60_000 });
    const abort = await cli('reshard', '--abort', '--yes');
    expect(abort.code).toBe(3);
    expect(abort.stderr).toContain('nothing to abort');
    // An explicit count that disagrees with the record is refused (exit 2), naming both.
    const wrong = await runCli(['status'], { ...env, GOVERSE_NUM_SHARDS: '16' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/16 shards configured.*64/);
  });
});
