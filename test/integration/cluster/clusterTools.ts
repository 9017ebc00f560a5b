/**
 * What the cluster acceptance tests share: CAS writes of shard values as an operator (or upstream) would make them,
 * the nodes' logs, metrics and lifecycle events, a recorder of every shard write, and the single-activation check.
 */
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { formatShardValue, parseShardValue, type ShardValue } from '../../../src/core/keyspace/shardValue.js';
import type { LogRecord } from '../../../src/core/log/logger.js';
import { sampleValue, sumValues } from '../../../src/core/metrics/query.js';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import type { ClusterSnapshot, ShardEntry } from '../../../src/core/snapshot/snapshot.js';
import type { EtcdClient, WatchHandle } from '../../../src/edge/etcd/client.js';
import type { ObjectLifecycleEvent } from '../../../src/node/objects/lifecycleLog.js';
import type { NodeCluster} from '../../harness/nodes.js';
import { type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';

/** Writes the shard's value with a CAS on the ModRevision just read; throws when the CAS loses. */
export async function casShard(client: EtcdClient, prefix: string, shardId: number, change: (v: ShardValue) => ShardValue): Promise<number> {
  const key = new Keyspace(prefix).shard(shardId);
  const kv = await client.get(key);
  const before = kv === null ? { target: '', current: '', flags: [] } : parseShardValue(kv.value).value;
  const res = await client.txn({ compares: [{ key, modRevision: kv?.modRevision ?? 0 }], success: [{ type: 'put', key, value: formatShardValue(change(before)) }] });
  if (!res.succeeded) throw new Error(`CAS on shard ${shardId} lost`);
  return res.revision;
}

/** A regular object ID that hashes into `shardId`. */
export function objectIdInShard(shardId: number, numShards: number, stem = 'obj'): string {
  for (let i = 0; ; i++) {
    const id = `${stem}-${i}`;
    if (fnv1a32(id) % numShards === shardId) return id;
  }
}

export async function leaderOf(cluster: NodeCluster): Promise<{ address: string; modRevision: number } | null> {
  const kv = await cluster.client.get(new Keyspace(cluster.prefix).leader);
  return kv === null ? null : { address: kv.value, modRevision: kv.modRevision };
}

/** The node's JSON log records (its stdout and stderr), oldest first. */
export function logRecords(node: TestNode): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of node.log().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      // a line cut by a kill
    }
  }
  return out;
}

/** The first log record matching `predicate`, waiting for it (a stopped node's last lines reach its log file late). */
export function waitForLog(node: TestNode, what: string, predicate: (r: LogRecord) => boolean, timeoutMs = 10_000): Promise<LogRecord> {
  return waitFor(`${node.address} logs ${what}`, () => logRecords(node).find(predicate), { timeoutMs, intervalMs: 20 });
}

/** The value of one sample (summed over the other labels) in the node's /metrics, 0 when absent. */
export async function metricOf(node: TestNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const families = parsePrometheusText(await node.metrics());
  return sumValues(families, name, labels) ?? sampleValue(families, name, labels) ?? 0;
}

/** Shards owned (Target == Current) per address, counting only `addresses`; null unless every shard is settled on one of them. */
export function settledCounts(snap: ClusterSnapshot, addresses: readonly string[]): Map<string, number> | null {
  const counts = new Map(addresses.map((a) => [a, 0]));
  for (let i = 0; i < snap.numShards; i++) {
    const e = snap.shards[i];
    if (e === undefined || e.target !== e.current || !counts.has(e.current)) return null;
    counts.set(e.current, counts.get(e.current)! + 1);
  }
  return counts;
}

/**
 * Waits until every shard is settled on one of `nodes`, at most `maxSpread` apart, and the leader's published status
 * says balanced: its last decision moved nothing, so no round is still under way (a snapshot taken then stays true).
 */
export async function waitBalanced(cluster: NodeCluster, nodes: readonly TestNode[], maxSpread: number, timeoutMs = 20_000): Promise<ClusterSnapshot> {
  const addresses = nodes.map((n) => n.address);
  let last = '';
  return waitFor(
    `shards balanced over ${addresses.join(', ')} (spread <= ${maxSpread})`,
    async () => {
      const snap = await cluster.snapshot();
      const counts = settledCounts(snap, addresses);
      const status = snap.balancer;
      last = `${counts === null ? 'not settled' : JSON.stringify([...counts])}; balancer ${status?.state} (${status?.reason})`;
      if (counts === null || Math.max(...counts.values()) - Math.min(...counts.values()) > maxSpread) return null;
      return status?.state === 'balanced' && status.leader === snap.leader?.address ? snap : null;
    },
    { timeoutMs, intervalMs: 50, describe: () => last },
  );
}

export function ownedBy(snap: ClusterSnapshot, address: string): ShardEntry[] {
  return snap.shards.filter((e): e is ShardEntry => e !== undefined && e.current === address && e.target === address);
}

/** Every write of `<prefix>/shard/<id>` from now on, in revision order, with the time the watch delivered it. */
export class ShardHistory {
  readonly writes: { readonly shardId: number; readonly raw: string | null; readonly revision: number; readonly at: number }[] = [];
  private constructor(private handle: WatchHandle | null) {}

  static async start(cluster: NodeCluster): Promise<ShardHistory> {
    const keys = new Keyspace(cluster.prefix);
    const { revision } = await cluster.client.rangePrefix(`${keys.root}shard/`);
    const history = new ShardHistory(null);
    history.handle = cluster.client.watchPrefix(`${keys.root}shard/`, revision + 1, {
      onEvents: (events) => {
        const at = Date.now();
        for (const ev of events) {
          const key = ev.type === 'put' ? ev.kv.key : ev.key;
          const k = keys.classify(key, cluster.numShards);
          if (k.kind !== 'shard') continue;
          history.writes.push({
            shardId: k.shardId,
            raw: ev.type === 'put' ? ev.kv.value : null,
            revision: ev.type === 'put' ? ev.kv.modRevision : ev.modRevision,
            at,
          });
        }
      },
      onConnected: () => {},
      onDisconnected: () => {},
      onCancelled: () => {},
    });
    return history;
  }

  of(shardId: number): (string | null)[] {
    return this.writes.filter((w) => w.shardId === shardId).map((w) => w.raw);
  }

  async stop(): Promise<void> {
    await this.handle?.cancel();
    this.handle = null;
  }
}

/** Every lifecycle event of the nodes, oldest first. */
export function lifecycleEvents(nodes: readonly TestNode[]): ObjectLifecycleEvent[] {
  return nodes.flatMap((n) => n.events() as unknown as ObjectLifecycleEvent[]).sort((a, b) => a.time - b.time);
}

/**
 * Violations of "no object is active on two nodes at overlapping times": each activation lasts until the same
 * node's next deactivation of the object (or forever).
 */
export function overlappingActivations(events: readonly ObjectLifecycleEvent[]): string[] {
  const intervals = new Map<string, { node: string; start: number; end: number }[]>();
  const open = new Map<string, { node: string; start: number }>();
  for (const e of events) {
    const obj = `${e.type}/${e.id}`;
    const key = `${obj}@${e.node}`;
    if (e.event === 'activated') {
      if (!open.has(key)) open.set(key, { node: e.node, start: e.time });
    } else {
      const o = open.get(key);
      if (o === undefined) continue;
      open.delete(key);
      pushTo(intervals, obj, { node: o.node, start: o.start, end: e.time });
    }
  }
  for (const [key, o] of open) pushTo(intervals, key.slice(0, key.lastIndexOf('@')), { node: o.node, start: o.start, end: Infinity });
  const problems: string[] = [];
  for (const [obj, list] of intervals) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.node !== b.node && a.start < b.end && b.start < a.end) {
          problems.push(`${obj} active on ${a.node} [${a.start}, ${a.end}] and ${b.node} [${b.start}, ${b.end}]`);
        }
      }
    }
  }
  return problems;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
