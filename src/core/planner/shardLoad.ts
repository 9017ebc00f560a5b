import type { LoadRecord } from '../keyspace/records.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import type { LoadSettings } from './settings.js';

export type LoadSignal = 'objects' | 'calls' | 'cpu' | 'memory';

export interface ShardLoads {
  /** Load of each shard by ID, in units where the reported signals together sum to their weights. */
  readonly perShard: Float64Array;
  /** The signals that contributed; empty when no node reported anything (every shard then weighs 1). */
  readonly signals: readonly LoadSignal[];
}

/**
 * Per-shard load from the nodes' load reports. Each signal is normalised by its cluster total so they can be mixed:
 * the chosen metric (objects or call rate) with weight 1, node CPU spread over the node's shards by call rate and
 * node memory spread by object count, with their configured weights. CPU and memory count only when every report
 * has them, so a node that does not report them does not look light, and only when the metric has shard load.
 * Every shard also carries a base load (a share of the mean), so shards without reports, e.g. on upstream nodes,
 * still spread. A shard reported by two nodes during a handover takes its current owner's report, else the newest.
 */
export function shardLoads(
  snapshot: ClusterSnapshot,
  loads: ReadonlyMap<string, LoadRecord>,
  settings: Pick<LoadSettings, 'metric' | 'baseLoad' | 'cpuWeight' | 'memoryWeight'>,
): ShardLoads {
  const numShards = snapshot.numShards;
  const objects = new Float64Array(numShards);
  const calls = new Float64Array(numShards);
  const reporter = new Int32Array(numShards).fill(-1);
  const reportedAt = new Float64Array(numShards);
  const byOwner = new Uint8Array(numShards);
  const records = [...loads];
  records.forEach(([address, record], k) => {
    for (const [id, obj, cps] of record.shards) {
      if (!Number.isInteger(id) || id < 0 || id >= numShards) continue;
      const owner = snapshot.shards[id]?.current === address ? 1 : 0;
      const prev = reporter[id]!;
      if (prev >= 0 && (owner < byOwner[id]! || (owner === byOwner[id]! && record.at <= reportedAt[id]!))) continue;
      objects[id] = obj;
      calls[id] = cps;
      reporter[id] = k;
      reportedAt[id] = record.at;
      byOwner[id] = owner;
    }
  });

  const perShard = new Float64Array(numShards);
  const signals: LoadSignal[] = [];
  let weightSum = 0;
  const add = (signal: LoadSignal, values: Float64Array, weight: number): void => {
    let total = 0;
    for (const v of values) total += v;
    if (!(total > 0) || !(weight > 0)) return;
    for (let id = 0; id < numShards; id++) perShard[id]! += (weight * values[id]!) / total;
    signals.push(signal);
    weightSum += weight;
  };
  add(settings.metric, settings.metric === 'objects' ? objects : calls, 1);
  const nodeSignal = (pick: (r: LoadRecord) => number | null, by: Float64Array, fallback: Float64Array): Float64Array | null => {
    // Without any shard load to attribute it by, a node's CPU and memory are its background work (leader duties,
    // GC): moving shards cannot change them, and chasing their noise would move shards forever.
    if (signals.length === 0) return null;
    if (records.length === 0 || records.some(([, r]) => pick(r) === null)) return null;
    return spreadOverShards(records, reporter, pick, by, fallback);
  };
  const cpu = nodeSignal((r) => r.cpu, calls, objects);
  if (cpu !== null) add('cpu', cpu, settings.cpuWeight);
  const memory = nodeSignal((r) => r.rssBytes, objects, calls);
  if (memory !== null) add('memory', memory, settings.memoryWeight);

  const base = weightSum > 0 ? (settings.baseLoad * weightSum) / numShards : 1;
  for (let id = 0; id < numShards; id++) perShard[id]! += base;
  return { perShard, signals };
}

/** A node-level figure divided among the shards whose report came from that node, in proportion to `by`. */
function spreadOverShards(
  records: readonly (readonly [string, LoadRecord])[],
  reporter: Int32Array,
  pick: (r: LoadRecord) => number | null,
  by: Float64Array,
  fallback: Float64Array,
): Float64Array {
  const out = new Float64Array(reporter.length);
  const members: number[][] = records.map(() => []);
  for (let id = 0; id < reporter.length; id++) if (reporter[id]! >= 0) members[reporter[id]!]!.push(id);
  records.forEach(([, record], k) => {
    const value = pick(record) ?? 0;
    const ids = members[k]!;
    if (ids.length === 0 || !(value > 0)) return;
    const share = proportions(ids, by) ?? proportions(ids, fallback);
    ids.forEach((id, j) => (out[id] = value * (share === null ? 1 / ids.length : share[j]!)));
  });
  return out;
}

function proportions(ids: readonly number[], by: Float64Array): number[] | null {
  let total = 0;
  for (const id of ids) total += by[id]!;
  return total > 0 ? ids.map((id) => by[id]! / total) : null;
}
