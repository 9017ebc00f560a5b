/**
 * One chaos run: start etcd and the nodes, run the clients, inject seeded faults until the duration is up, bring
 * the cluster back, read the counters, and hand the recorded history to the checker.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoverseClient } from '../../src/client/client.js';
import { systemClock } from '../../src/core/clock.js';
import { parseDuration } from '../../src/core/duration.js';
import type { OperationPlan } from '../../src/core/operations/operations.js';
import type { OperationResult } from '../../src/core/operations/result.js';
import { readSnapshot } from '../../src/edge/etcd/readSnapshot.js';
import { Keyspace } from '../../src/core/keyspace/keys.js';
import { ClusterWatcher } from '../../src/edge/etcd/watcher.js';
import { HistoryLog } from '../../src/edge/history/historyLog.js';
import { ClusterOperations } from '../../src/edge/operations/clusterOperations.js';
import { FAST_ENV } from '../harness/nodes.js';
import { WriteMeter } from '../harness/writeMeter.js';
import { prng } from '../unit/cluster/prng.js';
import { checkHistory, formatViolation, hostileWriteRate, type Violation, worstRecovery } from './checker.js';
import { ChaosCluster, type ChaosStore } from './cluster.js';
import { type ClientStats, IncrementClients, sleep } from './clients.js';
import { CHAOS_REBALANCE, chooseFault, type FaultContext, type FaultKind, RECOVERY_BOUND_MS } from './faults.js';
import { type ExtraCondition, Health } from './health.js';
import type { ChaosHistory, FaultRecord, OperatorWrite } from './history.js';
import { CHAOS_HISTORY_BOUNDS, CHAOS_HISTORY_ENV, HistoryGauge } from './historyBound.js';
import { type HostileInput } from './hostile.js';
import { ShardHistory } from './shardHistory.js';

export interface ChaosOptions {
  readonly seed: number;
  /** Where the nodes keep their objects (default SQLite); `postgres` adds the `db-restart` fault. */
  readonly store?: ChaosStore;
  /** How long faults are injected, from the moment the cluster is up. */
  readonly durationMs: number;
  readonly etcdMembers: number;
  /** Nodes at the start; scale up and down stay within [minNodes, maxNodes]. */
  readonly nodes: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly numShards: number;
  /** The fault kinds the scheduler may pick. */
  readonly faults: readonly FaultKind[];
  /** Extra environment for every node (for example the test-only GOVERSE_TEST_DISABLE_FENCING=1). */
  readonly nodeEnv: Readonly<Record<string, string>>;
  readonly workers: number;
  readonly counters: number;
  /** Keep the run's files even without violations (they are always kept with violations). */
  readonly keep?: boolean;
  /** Progress lines (one per fault). */
  readonly log: (line: string) => void;
}

export interface ChaosResult {
  /** The contract of the last line `npm run chaos` prints. */
  readonly summary: {
    readonly seed: number;
    readonly faults: Record<string, number>;
    readonly acknowledged: number;
    readonly violations: number;
    readonly worstRecoveryMs: Record<string, number>;
    /** The highest rate the cluster wrote at during a hostile episode (null without one). */
    readonly hostileWritesPerSecond: number | null;
    /** The cluster history: its count bound, the most entries seen at once, entries at the end (null: not read). */
    readonly history: { readonly bound: number; readonly maxSeen: number; readonly final: number | null; readonly appended: number };
  };
  readonly violations: readonly Violation[];
  readonly history: ChaosHistory;
  readonly clients: ClientStats;
  /** Calls answered in a way the API does not allow (4xx on a valid call...): reported, not judged. */
  readonly warnings: readonly string[];
  /** Why fault injection stopped early, if it did. */
  readonly aborted: string | null;
  /** Where the run's logs, event logs and history were copied (when there were violations, or asked to). */
  readonly keptIn: string | null;
}

/** Node settings on top of the harness's FAST_ENV: quieter logs, and rebalancing fast enough for a short run. */
const CHAOS_NODE_ENV: Readonly<Record<string, string>> = {
  GOVERSE_LOG_LEVEL: 'info',
  GOVERSE_REBALANCE_BATCH_SIZE: String(CHAOS_REBALANCE.batchSize),
  GOVERSE_IMBALANCE_THRESHOLD: String(CHAOS_REBALANCE.imbalanceThreshold),
  ...CHAOS_HISTORY_ENV,
};
const START_TIMEOUT_MS = 60_000;
/** A fault that has not recovered by then never will: the run stops injecting and reports it. */
const RECOVERY_CAP_MS = 60_000;
const FINAL_READ_TIMEOUT_MS = 20_000;

class NotRecoveredError extends Error {}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const startedAt = Date.now();
  const say = (line: string): void => o.log(`[+${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${line}`);
  const faultRandom = prng(o.seed);
  const clientRandom = prng(o.seed ^ 0x5bd1e995);
  const cluster = await ChaosCluster.start({
    store: o.store ?? 'sqlite',
    etcdMembers: o.etcdMembers,
    nodes: o.nodes,
    numShards: o.numShards,
    env: { ...CHAOS_NODE_ENV, ...o.nodeEnv },
  });
  const client = cluster.harness.client;
  const keys = new Keyspace(cluster.prefix);
  const watcher = new ClusterWatcher({ client, keys, numShards: o.numShards, resyncIntervalMs: 10_000 });
  let shards: ShardHistory | null = null;
  let meter: WriteMeter | null = null;
  let gauge: HistoryGauge | null = null;
  let closeHealth: (() => Promise<void>) | null = null;
  let clients: IncrementClients | null = null;
  let keptIn: string | null = null;
  try {
    await watcher.start();
    shards = await ShardHistory.start(client, cluster.prefix);
    meter = await WriteMeter.start(client, cluster.prefix);
    gauge = await HistoryGauge.start(client, cluster.prefix);
    const hostile: HostileInput = { client, prefix: cluster.prefix, meter, episodes: [] };
    const counters = Array.from({ length: o.counters }, (_, i) => `chaos-${i}`);
    const health = new Health(cluster, watcher, client, counters, clientRandom);
    closeHealth = () => health.close();
    const first = await health.waitHealthy(START_TIMEOUT_MS);
    if (first.at === null) throw new Error(`the cluster did not become healthy at the start: ${first.problem}`);
    say(`cluster up: ${o.nodes} nodes, ${o.etcdMembers} etcd member(s), ${o.numShards} shards, objects in ${cluster.database === null ? 'SQLite' : 'PostgreSQL'}`);

    const warnings: string[] = [];
    const load = new IncrementClients({
      routing: () => watcher.snapshot,
      workers: o.workers,
      counters,
      paceMs: 20,
      callTimeoutMs: 3000,
      giveUpMs: 30_000,
      random: clientRandom,
      onUnexpected: (what) => {
        if (warnings.length < 100) warnings.push(what);
      },
    });
    clients = load;
    load.start();

    const faults: FaultRecord[] = [];
    const operatorWrites: OperatorWrite[] = [];
    const counts: Record<string, number> = {};
    // The runner's operator actions are recorded as a goverse-top's are, under the nodes' bounds.
    const recorded = { log: new HistoryLog({ client, keys, bounds: CHAOS_HISTORY_BOUNDS, clock: systemClock }), who: { actor: 'chaos@runner', source: 'cli' as const } };
    const ops = new ClusterOperations({ client, keys, history: recorded });
    const recordRecovery = async (kind: FaultKind, detail: string, begun: number, from: number, also?: ExtraCondition): Promise<number> => {
      const r = await health.waitHealthy(from + RECOVERY_CAP_MS - Date.now(), also);
      faults.push({ kind, detail, startedAt: begun, measuredFrom: from, recoveredAt: r.at, boundMs: RECOVERY_BOUND_MS[kind] });
      if (r.at === null) throw new NotRecoveredError(`${kind} (${detail}): not healthy after ${RECOVERY_CAP_MS} ms: ${r.problem}`);
      return r.at - from;
    };
    const ctx: FaultContext = {
      cluster,
      watcher,
      ops,
      random: faultRandom,
      leaseTtlMs: parseDuration(FAST_ENV.GOVERSE_LEASE_TTL!),
      minNodes: o.minNodes,
      maxNodes: o.maxNodes,
      maxPins: 8,
      hostile,
      operate: async (action: string, plan: OperationPlan): Promise<OperationResult> => {
        try {
          const result = await ops.execute(plan);
          for (const c of result.changes) {
            // A failed write may still have been applied: count it as the operator's too.
            if (typeof c.id === 'number' && c.new !== null && (c.outcome === 'written' || c.outcome === 'failed')) {
              operatorWrites.push({ time: Date.now(), action, shard: c.id, value: c.new });
            }
          }
          return result;
        } catch (err) {
          for (const c of plan.shardChanges) operatorWrites.push({ time: Date.now(), action, shard: c.shardId, value: c.new });
          throw err;
        }
      },
      recover: async (kind, detail, begun, from = begun, also) => {
        const ms = await recordRecovery(kind, detail, begun, from, also);
        say(`${kind}: ${detail}; recovered in ${ms} ms`);
      },
      settle: async (kind, detail, also) => {
        const r = await health.waitHealthy(RECOVERY_CAP_MS, also);
        if (r.at !== null) return;
        const now = Date.now();
        faults.push({ kind, detail: `${detail}: never healthy again`, startedAt: now, measuredFrom: now, recoveredAt: null, boundMs: RECOVERY_BOUND_MS[kind] });
        throw new NotRecoveredError(`${kind} (${detail}): not healthy after ${RECOVERY_CAP_MS} ms: ${r.problem}`);
      },
    };

    // Let the clients activate objects everywhere before the first fault.
    await sleep(1500);
    const allowed = new Set(o.faults);
    const deadline = Date.now() + o.durationMs;
    let aborted: string | null = null;
    while (Date.now() < deadline) {
      const fault = chooseFault(ctx, allowed);
      if (fault === null) {
        aborted = `no fault of ${[...allowed].join(', ')} applies`;
        break;
      }
      counts[fault.kind] = (counts[fault.kind] ?? 0) + 1;
      try {
        await fault.run(ctx);
      } catch (err) {
        if (err instanceof NotRecoveredError) {
          aborted = err.message;
          say(`ABORT: ${err.message}`);
          break;
        }
        // The harness or an operation failed (a node that did not start, a refused plan): say so, carry on.
        warnings.push(`${fault.kind}: ${err instanceof Error ? err.message : String(err)}`);
        say(`${fault.kind}: failed to inject: ${err instanceof Error ? err.message : String(err)}`);
        await health.waitHealthy(RECOVERY_CAP_MS);
      }
      await sleep(200 + faultRandom() * 1300);
    }

    // Wind down: everything that is down comes back, then the clients finish what they have in flight.
    for (const n of cluster.inState('frozen')) n.thaw();
    for (const n of cluster.inState('down')) {
      await n.start().catch((err: unknown) => warnings.push(`final restart of ${n.name}: ${String(err)}`));
    }
    const settled = await health.waitHealthy(RECOVERY_CAP_MS);
    if (settled.at === null) say(`not healthy at the end: ${settled.problem}`);
    await load.stop();
    say(`clients stopped: ${load.stats.acknowledged} increments acknowledged, ${load.stats.givenUp} given up`);

    const finalCounters = await readCounters(watcher, counters);
    const finalSnap = await readSnapshot(client, keys, o.numShards);
    const finalShards = finalSnap.shards.map((e) => e?.raw ?? null);
    const recorder = shards;
    await waitUntil(() => finalShards.every((raw, id) => recorder.valueOf(id) === raw), 10_000);
    if (recorder.gap !== null) warnings.push(`shard history incomplete: ${recorder.gap}`);
    if (meter.gap !== null && hostile.episodes.length > 0) warnings.push(`write counts incomplete: ${meter.gap}`);
    const clusterHistory = await gauge.finish(CHAOS_HISTORY_BOUNDS);
    if (clusterHistory.gap !== null) warnings.push(clusterHistory.gap);
    const history: ChaosHistory = {
      seed: o.seed,
      startedAt,
      incarnations: cluster.incarnations(),
      increments: load.records,
      shardChanges: recorder.changes,
      operatorWrites,
      faults,
      hostile: hostile.episodes,
      clusterHistory,
      final: {
        counters: finalCounters,
        shards: finalShards,
        aliveNodes: cluster.inState('running').map((n) => n.address).filter((a) => finalSnap.nodes.has(a)),
      },
    };
    const violations = checkHistory(history);
    if (violations.length > 0 || o.keep === true) keptIn = keep(cluster.harness.dir, history, violations);
    return {
      summary: {
        seed: o.seed,
        faults: counts,
        acknowledged: load.stats.acknowledged,
        violations: violations.length,
        worstRecoveryMs: worstRecovery(faults),
        hostileWritesPerSecond: hostile.episodes.length === 0 ? null : Math.round(Math.max(...hostile.episodes.map(hostileWriteRate)) * 100) / 100,
        history: { bound: clusterHistory.maxEntries, maxSeen: clusterHistory.maxCount, final: clusterHistory.final?.count ?? null, appended: clusterHistory.appended },
      },
      violations,
      history,
      clients: load.stats,
      warnings,
      aborted,
      keptIn,
    };
  } finally {
    await clients?.stop();
    await shards?.stop();
    await meter?.stop();
    await gauge?.stop();
    await closeHealth?.();
    await watcher.stop();
    await cluster.close();
  }
}

async function readCounters(watcher: ClusterWatcher, counters: readonly string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  const reader = new GoverseClient({ routing: () => watcher.snapshot, timeoutMs: FINAL_READ_TIMEOUT_MS });
  const readOne = async (c: string): Promise<void> => {
    const value = await reader.call('Counter', c, 'get').then(
      (r) => (r as { value?: unknown } | null)?.value,
      () => null,
    );
    out.set(c, typeof value === 'number' ? value : null);
  };
  try {
    for (let i = 0; i < counters.length; i += 16) await Promise.all(counters.slice(i, i + 16).map(readOne));
  } finally {
    await reader.close();
  }
  return out;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Copies the run's files (node logs, event logs, database), the history and the violations out of the temp dir. */
function keep(dir: string, history: ChaosHistory, violations: readonly Violation[]): string {
  const dest = join(tmpdir(), `goverse-chaos-seed${history.seed}-${Date.now()}`);
  cpSync(dir, dest, { recursive: true });
  writeFileSync(join(dest, 'violations.txt'), violations.map(formatViolation).join('\n'));
  writeFileSync(join(dest, 'history.json'), JSON.stringify(history, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v)));
  return dest;
}
