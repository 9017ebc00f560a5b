/**
 * The "hostile writes" fault: what anyone who can write etcd might put under the cluster prefix, by malice or by a
 * clumsy script. One episode writes, from the seeded PRNG: shard aliases (`shard/+7`, `shard/007`, `shard/-0`) and
 * alias records, hundreds of lease-less node keys, node keys with a bad address (one of 100 KB) or a value that is
 * not their address, oversized and garbage values, sometimes a garbage leader, pause or status record; and for a few
 * seconds it keeps rewriting aliases while racing the leader on real shards (bogus and invalid targets). The cluster must ignore what is forged, repair what it must, and write little meanwhile: the
 * episode records its writes (load reports and the hostile writes themselves aside) for the checker's rate bound.
 */
import { isPinned } from '../../src/core/keyspace/shardValue.js';
import type { EtcdClient } from '../../src/edge/etcd/client.js';
import { MAX_TXN_OPS } from '../../src/edge/etcd/client.js';
import type { WriteMeter } from '../harness/writeMeter.js';
import { sleep } from './clients.js';
import type { FaultContext } from './faults.js';
import type { ExtraCondition } from './health.js';
import type { HostileEpisode } from './history.js';

/** Where an episode writes and what it reports. */
export interface HostileInput {
  readonly client: EtcdClient;
  readonly prefix: string;
  readonly meter: WriteMeter;
  readonly episodes: HostileEpisode[];
}

const HUGE = 100 * 1024;
const MAX_BOGUS_NODES = 2000;

/** One episode; it starts once the cluster is healthy and `quiet` holds (nothing else left for it to write). */
export async function hostileWrites(ctx: FaultContext, quiet: ExtraCondition): Promise<void> {
  await ctx.settle('hostile-writes', 'quiet before hostile writes', quiet);
  const h = ctx.hostile;
  const w = new HostileWriter(h);
  const r = ctx.random;
  const mark = h.meter.mark();
  const startedAt = Date.now();
  const done: string[] = [];

  const bogus = 200 + Math.floor(r() * (MAX_BOGUS_NODES - 200));
  await w.putMany(Array.from({ length: bogus }, (_, i) => [`nodes/bogus-${i}.chaos:${4000 + i}`, `bogus-${i}.chaos:${4000 + i}`] as const));
  const { id: lease } = await h.client.grantLease(60);
  await w.put('nodes/liar.chaos:1', 'someone-else.chaos:1', lease);
  await w.put(`nodes/${'h'.repeat(HUGE)}:1`, `${'h'.repeat(HUGE)}:1`, lease);
  await w.put('nodes/no-port.chaos', 'no-port.chaos', lease);
  await w.put('nodeinfo/ghost.chaos:1', 'g'.repeat(HUGE));
  await w.put('load/ghost.chaos:1', '{"at":');
  await w.put('drain/ghost.chaos:1', 'not json');
  await w.put(`junk/${Math.floor(r() * 4)}`, 'j'.repeat(HUGE));
  done.push(`${bogus} lease-less node keys, bad and oversized node keys and records`);
  if (r() < 0.3) {
    await w.put('rebalance/pause', '{"until":');
    done.push('a garbage pause');
  }
  if (r() < 0.3) {
    await w.put('rebalance/status', 'x'.repeat(HUGE));
    done.push('an oversized status');
  }
  if (r() < 0.25) {
    await w.put('leader', '\u001b]0;pwned\u0007');
    done.push('a garbage leader');
  }

  // Aliases rewritten every 40-120 ms, and about once a second a write racing the leader on a real shard.
  const shards = ctx.watcher.snapshot.numShards;
  const runMs = 2000 + r() * 3000;
  const end = Date.now() + runMs;
  let aliases = 0;
  let races = 0;
  while (Date.now() < end) {
    const id = Math.floor(r() * shards);
    const [k, v] = pick(r, [
      [`shard/+${id}`, 'evil.chaos:1,evil.chaos:1'],
      [`shard/00${id}`, `x.chaos:1,y.chaos:1,f=${aliases}`],
      ['shard/-0', 'evil.chaos:1,'],
      [`shard/ ${id}`, ','],
      [`migration/0${id}`, JSON.stringify({ since: 1, target: 'evil.chaos:1', from: '' })],
      [`release-request/+${id}`, JSON.stringify({ at: 1, by: 'chaos', owner: 'evil.chaos:1' })],
      [`shard/${shards + id}`, 'evil.chaos:1,evil.chaos:1'],
    ] as const);
    await w.put(k, v);
    aliases++;
    if (r() < 0.08) {
      const target = racingTarget(ctx);
      if (target !== null) {
        const [sid, owner] = target;
        // Only the target is forged: a value that took the shard from its live owner would break single activation
        // by fiat (as `release --force` can), which no protocol survives.
        await w.put(
          `shard/${sid}`,
          pick(r, [`bogus-1.chaos:4001,${owner}`, `${'t'.repeat(300)}:1,${owner}`, `no-port.chaos,${owner}`, `evil.chaos:1,${owner},f=x,f=`]),
        );
        races++;
      }
    }
    await sleep(40 + r() * 80);
  }
  done.push(`${aliases} alias writes and ${races} writes racing the leader over ${Math.round(runMs)} ms`);
  const writesEnded = Date.now();
  await ctx.recover('hostile-writes', done.join('; '), startedAt, writesEnded);
  const count = h.meter.since(mark);
  h.episodes.push({ startedAt, endedAt: Date.now(), writes: count.writes, byDir: Object.fromEntries(count.byDir) });
}

/** An unpinned shard settled on a running node: racing writes must not strand a pin on a bogus node. */
function racingTarget(ctx: FaultContext): [number, string] | null {
  const live = new Set(ctx.cluster.inState('running').map((n) => n.address));
  const settled = ctx.watcher.snapshot.shards.filter((e) => e !== undefined && !isPinned(e) && e.target === e.current && live.has(e.current));
  if (settled.length === 0) return null;
  const e = pick(ctx.random, settled)!;
  return [e.id, e.current];
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Writes under the prefix, each left out of the meter's counts by its revision. */
class HostileWriter {
  constructor(private readonly h: HostileInput) {}

  async put(rest: string, value: string, lease?: string): Promise<void> {
    const { revision } = await this.h.client.put(`${this.h.prefix}/${rest}`, value, lease === undefined ? {} : { lease });
    this.h.meter.exclude(revision);
  }

  async putMany(entries: readonly (readonly [string, string])[]): Promise<void> {
    for (let i = 0; i < entries.length; i += MAX_TXN_OPS) {
      const batch = entries.slice(i, i + MAX_TXN_OPS).map(([rest, value]) => ({ type: 'put' as const, key: `${this.h.prefix}/${rest}`, value }));
      const res = await this.h.client.txn({ compares: [], success: batch });
      this.h.meter.exclude(res.revision);
    }
  }
}
