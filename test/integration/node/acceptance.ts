/**
 * Helpers of the node acceptance tests: a settled cluster with a client, a steady counter load through the routing
 * client that tracks every acknowledged increment, and the activation intervals of objects across the nodes'
 * lifecycle event logs.
 */
import { expect } from 'vitest';
import { GoverseClient, type RetryEvent } from '../../../src/client/client.js';
import { type OperationRequest, planOperation } from '../../../src/core/operations/operations.js';
import type { OperationResult } from '../../../src/core/operations/result.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitSettled } from '../../harness/settled.js';
import { waitFor } from '../../harness/waitFor.js';

/** A client routing through a watcher on the cluster's etcd, recording every retry it makes. */
export async function clusterClient(cluster: NodeCluster, retries: RetryEvent[] = []): Promise<GoverseClient> {
  return GoverseClient.watching({
    etcd: cluster.client,
    prefix: cluster.prefix,
    numShards: cluster.numShards,
    timeoutMs: 30_000,
    onRetry: (e) => retries.push(e),
  });
}

/**
 * These tests kill no node, so a longer lease costs them nothing, and with the harness's 3 s a node of a machine at
 * load 20 can miss its keepalives and fence itself, which is not what they test.
 */
export const SLOW_MACHINE_ENV: Readonly<Record<string, string>> = { GOVERSE_LEASE_TTL: '6s' };

/** A settled cluster of 3 nodes with a routing client (recording its retries) and the core operations on its etcd. */
export class Scenario {
  readonly operations: ClusterOperations;

  private constructor(
    readonly cluster: NodeCluster,
    readonly client: GoverseClient,
    readonly retries: readonly RetryEvent[],
  ) {
    this.operations = new ClusterOperations({ client: cluster.client, keys: cluster.keys });
  }

  static async start(label: string, numShards: number): Promise<Scenario> {
    const cluster = await NodeCluster.start({ nodes: 3, numShards, label, env: SLOW_MACHINE_ENV });
    try {
      await waitSettled(cluster);
      const retries: RetryEvent[] = [];
      return new Scenario(cluster, await clusterClient(cluster, retries), retries);
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** Plans an operator request against a fresh snapshot and executes it. */
  async operate(request: OperationRequest): Promise<OperationResult> {
    const ctx = { snapshot: await this.cluster.snapshot(), now: Date.now(), by: 'acceptance-test' };
    return this.operations.execute(planOperation(request, ctx));
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.cluster.close();
  }
}

/**
 * Workers that keep incrementing counters, each increment with a requestId unique to this load (so a retry is
 * applied once, and no id of an earlier load on the same counters is taken for a retry), counting the acknowledged
 * ones. Any call that finally fails is kept in `failures`: the counter could then hold one more than acknowledged,
 * so the tests require there to be none.
 */
export class CounterLoad {
  private static loads = 0;
  readonly acked = new Map<string, number>();
  readonly failures: unknown[] = [];
  private readonly run = `load${++CounterLoad.loads}`;
  private running = false;
  private workers: Promise<void>[] = [];

  private constructor(
    private readonly client: GoverseClient,
    readonly ids: readonly string[],
    private readonly workersPerId: number,
    /** The counters' values before this load. */
    private readonly baseline: ReadonlyMap<string, number>,
  ) {
    for (const id of ids) this.acked.set(id, 0);
  }

  /** Reads the counters' current values, then starts the workers. */
  static async start(client: GoverseClient, ids: readonly string[], workersPerId = 1): Promise<CounterLoad> {
    const load = new CounterLoad(client, ids, workersPerId, await counterValues(client, ids));
    load.running = true;
    for (const id of ids) for (let w = 0; w < workersPerId; w++) load.workers.push(load.work(id, w));
    return load;
  }

  get total(): number {
    let n = 0;
    for (const v of this.acked.values()) n += v;
    return n;
  }

  /** Waits until `more` further increments have been acknowledged (progress, not time). */
  async progress(more: number, what = 'counter load progress'): Promise<void> {
    const target = this.total + more;
    await waitFor(what, () => this.total >= target || this.failures.length > 0, { timeoutMs: 30_000, describe: () => `${this.total} acked` });
    if (this.failures.length > 0) throw this.failures[0];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  /** After stop(): no call failed, and every counter holds its value before the load plus the acknowledged increments. */
  async expectIntact(): Promise<void> {
    expect(this.failures).toEqual([]);
    const expected = Object.fromEntries(this.ids.map((id) => [id, this.baseline.get(id)! + this.acked.get(id)!]));
    expect(Object.fromEntries(await counterValues(this.client, this.ids))).toEqual(expected);
  }

  private async work(id: string, worker: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      try {
        await this.client.call('Counter', id, 'increment', { requestId: `${this.run}/${id}/${worker}/${n}` });
        this.acked.set(id, this.acked.get(id)! + 1);
      } catch (err) {
        this.failures.push(err);
        return;
      }
    }
  }
}

async function counterValues(client: GoverseClient, ids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const id of ids) out.set(id, ((await client.call('Counter', id, 'get')) as { value: number }).value);
  return out;
}

export interface LifecycleEvent {
  readonly event: 'activated' | 'deactivated';
  readonly reason: string;
  readonly time: number;
  readonly node: string;
  readonly type: string;
  readonly id: string;
  readonly shard: number | null;
}

/** The lifecycle events of every node (running or not), in time order. */
export function allEvents(nodes: readonly TestNode[]): LifecycleEvent[] {
  return nodes.flatMap((n) => n.events() as unknown as LifecycleEvent[]).sort((a, b) => a.time - b.time);
}

export interface LiveInterval {
  readonly node: string;
  readonly from: number;
  /** Infinity while still active. */
  readonly to: number;
}

/** When each activation of `type/id` was live, on which node. */
export function liveIntervals(events: readonly LifecycleEvent[], type: string, id: string): LiveInterval[] {
  const open = new Map<string, number>();
  const out: LiveInterval[] = [];
  for (const e of events) {
    if (e.type !== type || e.id !== id) continue;
    if (e.event === 'activated') open.set(e.node, e.time);
    else {
      const from = open.get(e.node);
      if (from !== undefined) out.push({ node: e.node, from, to: e.time });
      open.delete(e.node);
    }
  }
  for (const [node, from] of open) out.push({ node, from, to: Infinity });
  return out.sort((a, b) => a.from - b.from);
}

/** Pairs of intervals on different nodes that overlap in time: two live copies. */
export function overlaps(intervals: readonly LiveInterval[]): [LiveInterval, LiveInterval][] {
  const out: [LiveInterval, LiveInterval][] = [];
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i]!;
      const b = intervals[j]!;
      if (a.node !== b.node && a.from < b.to && b.from < a.to) out.push([a, b]);
    }
  }
  return out;
}
