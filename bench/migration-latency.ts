/**
 * `npm run bench -- migration-latency [--samples N] [--shards N]`: a private etcd and 3 goverse-node processes on
 * loopback (from dist/: `npm run build` first). Empty shards are retargeted by hand, one at a time, with a CAS on
 * `<prefix>/shard/<id>` (TargetNode ← another node, as an operator or upstream's leader would); each sample lasts
 * from the CAS until a watch shows the new owner's claim (TargetNode == CurrentNode == the new node). Sources and
 * destinations follow the shard counts so the cluster stays balanced and the leader never rebalances in between.
 */
import { Keyspace } from '../src/core/keyspace/keys.js';
import { formatShardValue, parseShardValue } from '../src/core/keyspace/shardValue.js';
import type { WatchHandle } from '../src/edge/etcd/client.js';
import { startEtcd } from '../test/harness/etcd.js';
import { NodeCluster } from '../test/harness/nodes.js';
import { integerOption } from './_options.js';

const WARMUP = 10;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The shard keys' values and ModRevisions as a watch delivers them, with one waiter for a wanted value. */
class ShardMirror {
  readonly values = new Map<number, { value: string; modRevision: number }>();
  private waiter: { shardId: number; value: string; resolve: (at: number) => void } | null = null;
  /** When the watched shard was last seen released (CurrentNode empty), for the phase split. */
  releasedAt: number | null = null;

  constructor(
    private readonly keys: Keyspace,
    private readonly numShards: number,
  ) {}

  apply(key: string, value: string | null, modRevision: number): void {
    const k = this.keys.classify(key, this.numShards);
    if (k.kind !== 'shard') return;
    const id = k.shardId;
    if (value === null) this.values.delete(id);
    else this.values.set(id, { value, modRevision });
    const w = this.waiter;
    if (w !== null && w.shardId === id && value !== null && parseShardValue(value).value.current === '') this.releasedAt = performance.now();
    if (w !== null && w.shardId === id && w.value === value) {
      this.waiter = null;
      w.resolve(performance.now());
    }
  }

  /** Resolves with the performance.now() at which the watch delivered `value` for the shard. */
  waitFor(shardId: number, value: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`shard ${shardId} did not reach ${value} within ${timeoutMs} ms (now ${this.values.get(shardId)?.value})`));
      }, timeoutMs);
      this.releasedAt = null;
      this.waiter = {
        shardId,
        value,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const samples = integerOption(args, '--samples', 200);
  const numShards = integerOption(args, '--shards', 64);
  const etcd = await startEtcd('bench-migration');
  let cluster: NodeCluster | null = null;
  let watch: WatchHandle | null = null;
  try {
    cluster = await NodeCluster.start({
      etcd,
      nodes: 3,
      numShards,
      label: 'bench-migration',
      // Operational logging, as in production: debug lines would be part of what is measured.
      env: { GOVERSE_LOG_LEVEL: 'info', GOVERSE_STUCK_TIMEOUT: '1m' },
    });
    const initial = await cluster.waitStable();
    const keys = new Keyspace(cluster.prefix);
    const mirror = new ShardMirror(keys, numShards);
    for (const e of initial.shards) if (e !== undefined) mirror.apply(keys.shard(e.id), e.raw, e.modRevision);
    watch = cluster.client.watchPrefix(`${cluster.prefix}/shard/`, initial.revision + 1, {
      onEvents: (events) => {
        for (const ev of events) {
          if (ev.type === 'put') mirror.apply(ev.kv.key, ev.kv.value, ev.kv.modRevision);
          else mirror.apply(ev.key, null, ev.modRevision);
        }
      },
      onConnected: () => {},
      onDisconnected: () => {},
      onCancelled: (err) => process.stderr.write(`watch cancelled: ${err.message}\n`),
    });
    const addresses = cluster.nodes.map((n) => n.address);
    const latencies: number[] = [];
    const releases: number[] = [];
    process.stderr.write(`3 nodes, ${numShards} empty shards; ${WARMUP} warm-up moves, then ${samples} samples\n`);
    for (let i = 0; i < WARMUP + samples; i++) {
      const owned = new Map<string, number[]>(addresses.map((a) => [a, []]));
      for (const [id, { value }] of mirror.values) {
        const v = parseShardValue(value).value;
        if (v.target === v.current) owned.get(v.current)?.push(id);
      }
      // Shuffled first so that ties rotate between the nodes (the sort is stable).
      const bySize = shuffle([...owned]).sort((a, b) => b[1].length - a[1].length);
      const [from, fromShards] = bySize[0]!;
      const to = bySize[bySize.length - 1]![0];
      const shardId = fromShards[Math.floor(Math.random() * fromShards.length)]!;
      const { value, modRevision } = mirror.values.get(shardId)!;
      const before = parseShardValue(value).value;
      const key = keys.shard(shardId);
      const done = mirror.waitFor(shardId, formatShardValue({ ...before, target: to, current: to }), 10_000);
      const started = performance.now();
      const res = await cluster.client.txn({
        compares: [{ key, modRevision }],
        success: [{ type: 'put', key, value: formatShardValue({ ...before, target: to, current: from }) }],
      });
      if (!res.succeeded) throw new Error(`the CAS on shard ${shardId} lost: the cluster moved it by itself`);
      const ms = (await done) - started;
      if (i >= WARMUP) {
        latencies.push(ms);
        if (mirror.releasedAt !== null) releases.push(mirror.releasedAt - started);
      }
      if ((i + 1) % 20 === 0) process.stderr.write(`${i + 1 - WARMUP}/${samples}: last ${ms.toFixed(1)} ms\n`);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const releasedSorted = [...releases].sort((a, b) => a - b);
    return {
      p50Ms: round2(percentile(sorted, 50)),
      p99Ms: round2(percentile(sorted, 99)),
      samples: sorted.length,
      minMs: round2(sorted[0]!),
      maxMs: round2(sorted[sorted.length - 1]!),
      // The first half of the move: from the CAS until the watch shows the old owner's release.
      releaseP50Ms: round2(percentile(releasedSorted, 50)),
    };
  } finally {
    await watch?.cancel();
    await cluster?.close();
    await etcd.close();
  }
}
