/**
 * `npm run bench -- reshard [--shards 1024] [--objects 20000] [--apart N]`: a private etcd and 3 goverse-node processes on
 * loopback (from dist/: `npm run build` first) with `--shards` shards and `--objects` persisted Counter objects,
 * under a steady increment load (the chaos suite's clients: unique request IDs, retries reuse them). The count is
 * doubled, then halved back (docs/RESHARDING.md). A transition counts as done when the record says the new count is
 * in force and every shard is owned (target == current, an alive node); the time from the record's CAS to that is
 * `splitMs` / `mergeMs`. Rebalancing afterwards is not counted: the shard moves in a settle window after each
 * transition are reported apart. After a split every pair sits on one node; `--apart N` first moves N high shards to
 * another node (as an operator or the balancer might), so the merge has to co-locate them (`mergeColocations`).
 *
 * `objectsRehomed`: objects (persisted and load counters) whose shard changed in the split; the same ones change back
 * in the merge. `callsFailedRetriable`: failed call attempts that were retried; `callsFailedOther`: non-retriable
 * answers to valid calls plus increments given up. `lostIncrements`: acknowledged increments missing from their
 * counter at the end.
 */
import { GoverseClient } from '../src/client/client.js';
import { Keyspace } from '../src/core/keyspace/keys.js';
import { planOperation } from '../src/core/operations/operations.js';
import { reshardProgress } from '../src/core/planner/reshard.js';
import { fnv1a32 } from '../src/core/sharding/hash.js';
import type { ClusterSnapshot } from '../src/core/snapshot/snapshot.js';
import { ClusterWatcher } from '../src/edge/etcd/watcher.js';
import { ClusterOperations } from '../src/edge/operations/clusterOperations.js';
import { IncrementClients } from '../test/chaos/clients.js';
import { startEtcd } from '../test/harness/etcd.js';
import { NodeCluster } from '../test/harness/nodes.js';
import { prng } from '../test/unit/cluster/prng.js';
import { integerOption } from './_options.js';

/** After a transition, the load runs this long before the next step; shard moves in it are rebalancing. */
const SETTLE_MS = 5000;

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const numShards = integerOption(args, '--shards', 1024);
  const objects = integerOption(args, '--objects', 20_000);
  const apart = args.includes('--apart') ? integerOption(args, '--apart', 1) : 0;
  const etcd = await startEtcd('bench-reshard');
  let cluster: NodeCluster | null = null;
  let watcher: ClusterWatcher | null = null;
  let load: IncrementClients | null = null;
  try {
    cluster = await NodeCluster.start({ etcd, nodes: 3, numShards, label: 'bench-reshard', env: { GOVERSE_LOG_LEVEL: 'info' } });
    cluster.followShardCount();
    await cluster.waitStable({ timeoutMs: 120_000 });
    const keys = new Keyspace(cluster.prefix);
    const w = (watcher = new ClusterWatcher({ client: cluster.client, keys, numShards }));
    await w.start();

    const ids = Array.from({ length: objects }, (_, i) => `bench-obj-${i}`);
    const started = performance.now();
    await populate(w, ids);
    note(`${objects} persisted objects in ${Math.round(performance.now() - started)} ms`);

    const counters = Array.from({ length: 1000 }, (_, i) => `bench-load-${i}`);
    const unexpected: string[] = [];
    load = new IncrementClients({
      routing: () => w.snapshot,
      workers: 16,
      counters,
      paceMs: 5,
      callTimeoutMs: 10_000,
      giveUpMs: 60_000,
      random: prng(1024),
      onUnexpected: (what) => void unexpected.push(what),
    });
    load.start();
    await until(w, 'the load to run', () => load!.stats.acknowledged >= 500, 60_000);

    const splitMs = await transition(cluster, w, 2 * numShards);
    const rebalanceAfterSplit = await settle(w);
    if (apart > 0) await pullApart(cluster, w, numShards, apart);
    const mergeMs = await transition(cluster, w, numShards);
    const rebalanceAfterMerge = await settle(w);
    await load.stop();

    const lostIncrements = await lost(w, load);
    const rehomed = [...ids, ...counters].filter((id) => fnv1a32(id) % (2 * numShards) >= numShards).length;
    const retriable = Object.values(load.stats.failedAttempts).reduce((a, b) => a + b, 0);
    note(`load: ${load.stats.acknowledged} acknowledged; failed attempts ${JSON.stringify(load.stats.failedAttempts)}`);
    for (const u of unexpected.slice(0, 5)) note(`unexpected: ${u}`);
    return {
      shards: numShards,
      objects,
      acknowledged: load.stats.acknowledged,
      shardMovesAfterSplit: rebalanceAfterSplit,
      shardMovesAfterMerge: rebalanceAfterMerge,
      mergeColocations: apart,
      splitMs: Math.round(splitMs),
      mergeMs: Math.round(mergeMs),
      callsFailedRetriable: retriable,
      callsFailedOther: unexpected.length + load.stats.givenUp,
      objectsRehomed: rehomed,
      lostIncrements,
    };
  } finally {
    await load?.stop();
    await watcher?.stop();
    await cluster?.close();
    await etcd.close();
  }
}

function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Creates the objects (one persisted increment each), 64 calls in flight. */
async function populate(w: ClusterWatcher, ids: readonly string[]): Promise<void> {
  const client = new GoverseClient({ routing: () => w.snapshot, timeoutMs: 30_000 });
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < ids.length; i = next++) {
          await client.call('Counter', ids[i]!, 'add', { amount: 1, requestId: `populate-${i}` });
          if ((i + 1) % 5000 === 0) note(`${i + 1}/${ids.length} objects`);
        }
      }),
    );
  } finally {
    await client.close();
  }
}

/** Starts the transition to `to` and returns the ms until `to` is in force with every shard owned. */
async function transition(cluster: NodeCluster, w: ClusterWatcher, to: number): Promise<number> {
  const snapshot = await cluster.snapshot();
  const plan = planOperation({ kind: 'reshard', to }, { snapshot, now: Date.now(), by: 'bench@reshard' });
  const started = performance.now();
  const result = await new ClusterOperations({ client: cluster.client, keys: cluster.keys }).execute(plan);
  if (result.changes.some((c) => !c.written)) throw new Error(`${plan.summary}: the record was not written`);
  let last = '';
  const doneAt = await until(
    w,
    `${to} shards in force, every shard owned`,
    (s) => {
      const p = reshardProgress(s);
      const line = p === null ? `${s.layout.count} shards` : `${p.kind} ${p.done}/${p.pairs}`;
      if (line !== last) note(`  ${line}`);
      last = line;
      return s.layout.count === to && s.layout.transition === null && allOwned(s);
    },
    120_000,
  );
  const ms = doneAt - started;
  note(`${plan.summary}: ${Math.round(ms)} ms`);
  return ms;
}

/** Moves `n` high shards to a node other than their low shard's, and waits until they are settled there. */
async function pullApart(cluster: NodeCluster, w: ClusterWatcher, numShards: number, n: number): Promise<void> {
  const snapshot = w.snapshot;
  const nodes = cluster.nodes.map((x) => x.address);
  const byTarget = new Map<string, number[]>();
  for (let high = numShards; high < numShards + Math.min(n, numShards); high++) {
    const low = snapshot.shards[high - numShards]!;
    const to = nodes[(nodes.indexOf(low.target) + 1) % nodes.length]!;
    byTarget.set(to, [...(byTarget.get(to) ?? []), high]);
  }
  const ops = new ClusterOperations({ client: cluster.client, keys: cluster.keys });
  for (const [to, shards] of byTarget) {
    const plan = planOperation({ kind: 'retarget', shards, to, refusals: 'refuse' }, { snapshot: w.snapshot, now: Date.now(), by: 'bench@reshard' });
    await ops.execute(plan);
  }
  await until(w, `${n} high shards moved apart`, (s) => allOwned(s) && [...byTarget].every(([to, ids]) => ids.every((id) => s.shards[id]?.current === to)), 120_000);
  note(`${n} high shards moved to another node than their pair's low shard`);
}

function allOwned(s: ClusterSnapshot): boolean {
  for (let id = 0; id < s.numShards; id++) {
    const e = s.shards[id];
    if (e === undefined || e.current === '' || e.current !== e.target || !s.nodes.has(e.current)) return false;
  }
  return true;
}

/** Lets the load run for the settle window; returns how many shard targets changed meanwhile (rebalancing). */
async function settle(w: ClusterWatcher): Promise<number> {
  let moves = 0;
  const off = w.subscribe((ev) => {
    if (ev.type === 'snapshot') for (const c of ev.changes) if (c.kind === 'shard' && c.before != null && c.after != null && c.before.target !== c.after.target) moves++;
  });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  off();
  return moves;
}

/** Resolves with the performance.now() of the snapshot that made `check` true. */
function until(w: ClusterWatcher, what: string, check: (s: ClusterSnapshot) => boolean, timeoutMs: number): Promise<number> {
  if (check(w.snapshot)) return Promise.resolve(performance.now());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const off = w.subscribe((ev) => {
      if (ev.type !== 'snapshot' || !check(ev.snapshot)) return;
      clearTimeout(timer);
      off();
      resolve(performance.now());
    });
  });
}

/** Acknowledged increments missing from their counters (each increment adds 1 to a counter that started at 0). */
async function lost(w: ClusterWatcher, load: IncrementClients): Promise<number> {
  const acked = new Map<string, number>();
  for (const r of load.records) if (r.ackedAt !== null) acked.set(r.counter, (acked.get(r.counter) ?? 0) + 1);
  const reader = new GoverseClient({ routing: () => w.snapshot, timeoutMs: 30_000 });
  let missing = 0;
  try {
    for (const [counter, n] of acked) {
      const r = (await reader.call('Counter', counter, 'get')) as { value?: unknown };
      if (typeof r.value !== 'number') throw new Error(`${counter}: get answered ${JSON.stringify(r)}`);
      missing += Math.max(0, n - r.value);
    }
  } finally {
    await reader.close();
  }
  return missing;
}
