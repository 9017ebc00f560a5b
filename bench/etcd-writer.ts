/**
 * `npm run bench -- etcd-writer [--shards N] [--rounds N]`: writes N (default 8192) fresh shard values with our
 * ShardWriter (128-op CAS transactions) and with upstream's storeShardMapping pattern (one CAS transaction per
 * shard, 16 in flight) against the same private etcd, alternating for several rounds; reports the medians.
 */
import { DEFAULT_SHARD_WRITE_RETRY } from '../src/core/config/shardWriteRetry.js';
import { Keyspace } from '../src/core/keyspace/keys.js';
import { formatShardValue, type ShardValue } from '../src/core/keyspace/shardValue.js';
import { createEtcdClient, type EtcdClient } from '../src/edge/etcd/client.js';
import { ShardWriter } from '../src/edge/etcd/shardWriter.js';
import { startEtcd } from '../test/harness/etcd.js';
import { integerOption } from './_options.js';

const UPSTREAM_IN_FLIGHT = 16;

const valueOf = (id: number): ShardValue => ({ target: `node-${id % 8}:47000`, current: '', flags: ['pinned'] });

async function ours(client: EtcdClient, prefix: string, shards: number): Promise<number> {
  const writer = new ShardWriter({ client, keys: new Keyspace(prefix), retry: { ...DEFAULT_SHARD_WRITE_RETRY, deadlineMs: 60_000 } });
  const started = performance.now();
  const report = await writer.write(Array.from({ length: shards }, (_, shardId) => ({ shardId, expectedModRevision: 0, value: valueOf(shardId) })));
  const ms = performance.now() - started;
  if (report.written !== shards) throw new Error(`our writer wrote ${report.written} of ${shards} shards`);
  return ms;
}

/** Upstream: a fixed pool of workers, each shard its own `IF ModRevision == expected THEN Put` transaction. */
async function upstreamPattern(client: EtcdClient, prefix: string, shards: number): Promise<number> {
  const keys = new Keyspace(prefix);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < shards) {
      const id = next++;
      const key = keys.shard(id);
      const res = await client.txn({ compares: [{ key, modRevision: 0 }], success: [{ type: 'put', key, value: formatShardValue(valueOf(id)) }] });
      if (!res.succeeded) throw new Error(`upstream pattern: shard ${id} conflicted`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: UPSTREAM_IN_FLIGHT }, worker));
  return performance.now() - started;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const shards = integerOption(args, '--shards', 8192);
  const rounds = integerOption(args, '--rounds', 3);
  const etcd = await startEtcd('bench-writer');
  const client = createEtcdClient({ endpoints: etcd.endpoints, callTimeoutMs: 30_000 });
  try {
    // Warm both paths (connections, etcd's backend) before timing anything.
    await ours(client, '/bench-warmup-a', 512);
    await upstreamPattern(client, '/bench-warmup-b', 512);
    const oursMs: number[] = [];
    const upstreamMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      oursMs.push(await ours(client, `/bench-ours-${r}`, shards));
      upstreamMs.push(await upstreamPattern(client, `/bench-upstream-${r}`, shards));
      process.stderr.write(`round ${r + 1}/${rounds}: ours ${oursMs[r]!.toFixed(0)} ms, upstream pattern ${upstreamMs[r]!.toFixed(0)} ms\n`);
    }
    const o = median(oursMs);
    const u = median(upstreamMs);
    return { oursMs: Math.round(o), upstreamPatternMs: Math.round(u), ratio: Number((u / o).toFixed(2)) };
  } finally {
    await client.close();
    await etcd.close();
  }
}
