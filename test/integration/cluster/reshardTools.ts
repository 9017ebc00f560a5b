/**
 * What the resharding tests share: a cluster of real goverse-node processes (the chaos suite's cluster, which keeps
 * every incarnation's lifecycle event log) under a steady Counter load (the chaos suite's increment clients: unique
 * request IDs, every retry reusing its ID), operator requests through the core operations, waits on the shard-count
 * record, and the final check by the chaos checker: single activation across every incarnation and every
 * acknowledged increment in its counter.
 */
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import type { OperationRequest } from '../../../src/core/operations/operations.js';
import { planOperation } from '../../../src/core/operations/operations.js';
import { reshardProgress } from '../../../src/core/planner/reshard.js';
import { shardInLayout } from '../../../src/core/snapshot/layout.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot/snapshot.js';
import { ClusterWatcher } from '../../../src/edge/etcd/watcher.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { GoverseClient } from '../../../src/client/client.js';
import { checkHistory, formatViolation } from '../../chaos/checker.js';
import { IncrementClients } from '../../chaos/clients.js';
import { ChaosCluster, type ChaosNode } from '../../chaos/cluster.js';
import { waitFor } from '../../harness/waitFor.js';
import { prng } from '../../unit/cluster/prng.js';

export interface LoadedCluster {
  readonly cluster: ChaosCluster;
  readonly watcher: ClusterWatcher;
  readonly load: IncrementClients;
  readonly counters: readonly string[];
  /** Non-retriable answers to valid calls: none is allowed. */
  readonly unexpected: string[];
}

/** Starts `nodes` goverse-nodes with `numShards` shards, waits until every shard is owned, and starts the load. */
export async function loadedCluster(numShards: number, nodes = 3): Promise<LoadedCluster> {
  const cluster = await ChaosCluster.start({ etcdMembers: 1, nodes, numShards, env: {}, store: 'sqlite' });
  // The first nodes created the record with the explicit count; from now on (restarts) nodes follow the record.
  cluster.harness.followShardCount();
  await cluster.harness.waitStable({ timeoutMs: 60_000 });
  const watcher = new ClusterWatcher({ client: cluster.harness.client, keys: new Keyspace(cluster.prefix), numShards });
  await watcher.start();
  const counters = Array.from({ length: 200 }, (_, i) => `rs-${i}`);
  const unexpected: string[] = [];
  const load = new IncrementClients({
    routing: () => watcher.snapshot,
    workers: 8,
    counters,
    paceMs: 10,
    callTimeoutMs: 5000,
    giveUpMs: 60_000,
    random: prng(18),
    onUnexpected: (what) => void unexpected.push(what),
  });
  load.start();
  await waitFor('the load to run', () => load.stats.acknowledged >= 200, { timeoutMs: 30_000 });
  return { cluster, watcher, load, counters, unexpected };
}

export async function closeLoaded(c: LoadedCluster): Promise<void> {
  await c.load.stop();
  await c.watcher.stop();
  await c.cluster.close();
}

export function snapshot(c: LoadedCluster): Promise<ClusterSnapshot> {
  return c.cluster.harness.snapshot();
}

/** The node holding the leader key. */
export async function leaderNode(c: LoadedCluster): Promise<ChaosNode> {
  const kv = await c.cluster.harness.client.get(c.cluster.harness.keys.leader);
  const node = c.cluster.nodes.find((n) => n.address === kv?.value);
  if (node === undefined) throw new Error(`no leader among the nodes (leader key: ${kv?.value ?? 'absent'})`);
  return node;
}

/** Plans an operator request against a fresh read and executes it; throws when a change was not written. */
export async function operate(c: LoadedCluster, request: OperationRequest): Promise<void> {
  const { harness } = c.cluster;
  const plan = planOperation(request, { snapshot: await harness.snapshot(), now: Date.now(), by: 'test@reshard' });
  const result = await new ClusterOperations({ client: harness.client, keys: harness.keys }).execute(plan);
  const bad = result.changes.filter((ch) => !ch.written);
  if (bad.length > 0) throw new Error(`${request.kind}: not written: ${JSON.stringify(bad)}`);
}

/** Waits until the record says `count` with no transition and every shard is owned by a running node. */
export function waitCount(c: LoadedCluster, count: number, timeoutMs = 60_000): Promise<ClusterSnapshot> {
  let last: ClusterSnapshot | null = null;
  return waitFor(
    `${count} shards in force, every shard owned`,
    async () => {
      const snap = (last = await snapshot(c));
      if (snap.layout.count !== count || snap.layout.transition !== null) return null;
      const alive = new Set(c.cluster.inState('running').map((n) => n.address));
      for (let id = 0; id < snap.numShards; id++) {
        const e = snap.shards[id];
        if (e === undefined || e.current !== e.target || !alive.has(e.current)) return null;
      }
      return snap;
    },
    { timeoutMs, intervalMs: 50, describe: () => describe(last) },
  );
}

/** Waits until the transition under way has done at least `min` pairs (and is still under way). */
export function waitProgress(c: LoadedCluster, min: number, timeoutMs = 30_000): Promise<ClusterSnapshot> {
  let last: ClusterSnapshot | null = null;
  return waitFor(
    `a transition with at least ${min} pairs done`,
    async () => {
      const snap = (last = await snapshot(c));
      const p = reshardProgress(snap);
      return p !== null && p.done >= min ? snap : null;
    },
    { timeoutMs, intervalMs: 20, describe: () => describe(last) },
  );
}

function describe(snap: ClusterSnapshot | null): string {
  if (snap === null) return 'nothing read';
  const p = reshardProgress(snap);
  const unowned = [...Array(snap.numShards).keys()].filter((id) => shardInLayout(snap, id) && snap.shards[id]?.current !== snap.shards[id]?.target);
  return `count ${snap.layout.count}, ${p === null ? 'no transition' : `${p.kind} ${p.state} ${p.done}/${p.pairs}`}, unsettled shards ${unowned.slice(0, 10).join(',')}`;
}

/**
 * Stops the load, reads every counter back, and returns the checker's violations (double activations across every
 * incarnation, lost, duplicate or stale increments) plus any increment given up and any non-retriable failure.
 */
export async function finish(c: LoadedCluster): Promise<string[]> {
  await c.load.stop();
  const reader = new GoverseClient({ routing: () => c.watcher.snapshot, timeoutMs: 20_000 });
  const counters = new Map<string, number | null>();
  try {
    for (const id of c.counters) {
      const r = (await reader.call('Counter', id, 'get').catch(() => null)) as { value?: unknown } | null;
      counters.set(id, typeof r?.value === 'number' ? r.value : null);
    }
  } finally {
    await reader.close();
  }
  const incarnations = c.cluster.incarnations();
  const violations = checkHistory({
    seed: 18,
    startedAt: 0,
    incarnations,
    increments: c.load.records,
    shardChanges: [],
    operatorWrites: [],
    faults: [],
    hostile: [],
    final: { counters, shards: [], aliveNodes: [] },
  }).map(formatViolation);
  // Without lifecycle events the single-activation check would pass vacuously.
  if (incarnations.every((i) => i.events.length === 0)) violations.push('no lifecycle events were recorded');
  if (c.load.stats.givenUp > 0) violations.push(`${c.load.stats.givenUp} increments were given up`);
  return [...violations, ...c.unexpected];
}
