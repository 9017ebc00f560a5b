import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { describeMoves, type PlanResult, round, type ShardWrite, shardWrite, skip } from './plan.js';
import type { PlannerSettings } from './settings.js';
import { rebalanceInputs } from './tally.js';

/**
 * Upstream's RebalanceShards (docs/UPSTREAM.md §7), move for move, so it reproduces the vectors of §14.3 there. Counts
 * by TargetNode; up to `batchSize` times moves the lowest unpinned shard ID of the first node with the most shards to
 * the first node with the fewest, while max >= min + 2 and max - min > threshold * numShards / nodes. It stops at the
 * threshold and gives up when the fullest node holds only pinned shards, as upstream does (the `weighted` strategy does
 * neither). Eligible nodes replace upstream's alive nodes: a draining or stopping node is simply no destination and its
 * shards do not count; reassign moves them off.
 */
export function planCount(snapshot: ClusterSnapshot, settings: Pick<PlannerSettings, 'batchSize' | 'imbalanceThreshold'>): PlanResult {
  const inputs = rebalanceInputs(snapshot);
  if ('kind' in inputs) return inputs;
  const nodes = inputs.ctx.eligible;
  const { counts, lists, pinned } = inputs.tally;
  const ideal = snapshot.numShards / nodes.length;
  const limit = settings.imbalanceThreshold * ideal;
  // Picks always take the first unpinned ID not yet moved; a cursor per node over its original list does that.
  const cursors = new Int32Array(nodes.length);
  const writes: ShardWrite[] = [];
  const spreadBefore = spreadOf(counts);
  let stop: 'balanced' | 'within-threshold' | 'only-pinned-movable' | null = null;
  while (writes.length < settings.batchSize) {
    let maxI = 0;
    let minI = 0;
    for (let i = 1; i < nodes.length; i++) {
      if (counts[i]! > counts[maxI]!) maxI = i;
      if (counts[i]! < counts[minI]!) minI = i;
    }
    const max = counts[maxI]!;
    const min = counts[minI]!;
    if (max < min + 2) {
      stop = 'balanced';
      break;
    }
    if (max - min <= limit) {
      stop = 'within-threshold';
      break;
    }
    const list = lists[maxI]!;
    let c = cursors[maxI]!;
    while (c < list.length && pinned[list[c]!] === 1) c++;
    if (c >= list.length) {
      stop = 'only-pinned-movable';
      break;
    }
    cursors[maxI] = c + 1;
    const pick = list[c]!;
    writes.push(shardWrite(snapshot, pick, { target: nodes[minI]! }));
    counts[maxI]!--;
    counts[minI]!++;
  }
  const summary = `spread ${spreadBefore} → ${spreadOf(counts)} shards, limit ${round(limit)} (ideal ${round(ideal)})`;
  if (writes.length > 0) return { kind: 'write', writes, text: `count: move ${writes.length} shards (${describeMoves(writes)}); ${summary}` };
  switch (stop) {
    case 'only-pinned-movable':
      return skip(stop, `count: the fullest node ${nodes[maxIndex(counts)]} holds only pinned shards; ${summary}`);
    case 'within-threshold':
      return skip(stop, `count: ${summary}`);
    default:
      return skip('balanced', `count: every node is within one shard of the others; ${summary}`);
  }
}

function spreadOf(counts: Int32Array): number {
  let max = -Infinity;
  let min = Infinity;
  for (const c of counts) {
    if (c > max) max = c;
    if (c < min) min = c;
  }
  return max - min;
}

function maxIndex(counts: Int32Array): number {
  let m = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i]! > counts[m]!) m = i;
  return m;
}
