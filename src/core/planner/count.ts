import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { describeMoves, type PlanResult, round, type ShardWrite, shardWrite, skip } from './plan.js';
import type { PlannerSettings } from './settings.js';
import { rebalanceInputs } from './tally.js';

/**
 * Upstream's RebalanceShards (docs/UPSTREAM.md §7), move for move when every eligible node has the same weight, so it
 * reproduces the vectors of §14.3 there. Counts by TargetNode; up to `batchSize` times moves the lowest unpinned shard
 * ID of the first node with the most shards to the first node with the fewest, while max >= min + 2 and
 * max - min > threshold * numShards / nodes. It stops at the threshold and gives up when the fullest node holds only
 * pinned shards, as upstream does (the `weighted` strategy does neither). Eligible nodes replace upstream's alive
 * nodes: a draining or stopping node is simply no destination and its shards do not count; reassign moves them off.
 *
 * With unequal weights the same rules apply to each node's count divided by its share n * w / Σw (1 for every node
 * when the weights are equal): "most" and "fewest" compare count / share, the limit stays threshold * numShards / n
 * in those units (so the spread of count / weighted ideal is held to the threshold, as `weighted` measures it), and a
 * move is made only while the donor stays at or above the receiver afterwards, as max >= min + 2 says. Without this,
 * `count` undid a weighted placement of 1169/2341/4682 (weights 1:2:4) to 2549/2549/3094 in 1,588 moves.
 */
export function planCount(snapshot: ClusterSnapshot, settings: Pick<PlannerSettings, 'batchSize' | 'imbalanceThreshold'>): PlanResult {
  const inputs = rebalanceInputs(snapshot);
  if ('kind' in inputs) return inputs;
  const nodes = inputs.ctx.eligible;
  const { counts, lists, pinned } = inputs.tally;
  const shares = sharesOf(inputs.ctx.weights);
  const ideal = snapshot.numShards / nodes.length;
  const limit = settings.imbalanceThreshold * ideal;
  const level = (i: number, delta = 0): number => (counts[i]! + delta) / shares[i]!;
  // Picks always take the first unpinned ID not yet moved; a cursor per node over its original list does that.
  const cursors = new Int32Array(nodes.length);
  const writes: ShardWrite[] = [];
  const spreadBefore = spreadOf(nodes.length, level);
  let stop: 'balanced' | 'within-threshold' | 'only-pinned-movable' | null = null;
  while (writes.length < settings.batchSize) {
    let maxI = 0;
    let minI = 0;
    for (let i = 1; i < nodes.length; i++) {
      if (level(i) > level(maxI)) maxI = i;
      if (level(i) < level(minI)) minI = i;
    }
    if (level(maxI, -1) < level(minI, 1)) {
      stop = 'balanced';
      break;
    }
    if (level(maxI) - level(minI) <= limit) {
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
  const weighted = shares.some((s) => s !== 1);
  const unit = weighted ? ' weighted' : '';
  const ideals = weighted ? shares.map((s) => round(s * ideal)).join('/') : String(round(ideal));
  const summary = `spread ${round(spreadBefore)} → ${round(spreadOf(nodes.length, level))}${unit} shards, limit ${round(limit)} (ideal ${ideals})`;
  if (writes.length > 0) return { kind: 'write', writes, text: `count: move ${writes.length} shards (${describeMoves(writes)}); ${summary}` };
  switch (stop) {
    case 'only-pinned-movable':
      return skip(stop, `count: the fullest node ${nodes[maxIndex(nodes.length, level)]} holds only pinned shards; ${summary}`);
    case 'within-threshold':
      return skip(stop, `count: ${summary}`);
    default:
      return skip('balanced', `count: every node is within one shard of its${weighted ? ' weighted' : ''} share; ${summary}`);
  }
}

/** The least share a node is given: weights come from etcd, and a share of 0 would make its level NaN. */
const MIN_SHARE = 1e-9;

/**
 * Each node's share of an average node's shards, n * w_i / Σw; exactly 1 for every node when the weights are equal,
 * so that case computes with the plain counts, as upstream does, and no rounding can change a decision. Weights are
 * scaled by the largest first, so no sum overflows.
 */
function sharesOf(weights: readonly number[]): number[] {
  if (weights.every((w) => w === weights[0])) return weights.map(() => 1);
  const largest = Math.max(...weights);
  const scaled = weights.map((w) => w / largest);
  const total = scaled.reduce((s, w) => s + w, 0);
  return scaled.map((w) => Math.max(MIN_SHARE, (weights.length * w) / total));
}

function spreadOf(n: number, level: (i: number) => number): number {
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    max = Math.max(max, level(i));
    min = Math.min(min, level(i));
  }
  return max - min;
}

function maxIndex(n: number, level: (i: number) => number): number {
  let m = 0;
  for (let i = 1; i < n; i++) if (level(i) > level(m)) m = i;
  return m;
}
