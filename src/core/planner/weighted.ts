import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { describeMoves, type PlanResult, type RebalanceState, round, type ShardWrite, shardWrite, skip } from './plan.js';
import { Rendezvous } from './rendezvous.js';
import type { PlannerSettings } from './settings.js';
import { rebalanceInputs } from './tally.js';

const EPSILON = 1e-9;

/**
 * Shard counts against the weighted ideal (ideal_i = S * w_i / Σw, S = shards targeted at eligible nodes).
 * A round starts when the spread of count/ideal across nodes exceeds the threshold (with equal weights exactly
 * upstream's max - min > threshold * ideal), or when the previous round moved shards (`active`), and then keeps
 * moving, up to `batchSize` shards, while a move lowers Σ (count_i - ideal_i)² / w_i: from the most over-ideal node
 * that has a movable shard (a node holding only pinned shards is passed over, unlike upstream) to the most
 * under-ideal one. So it ends balanced to about one shard instead of stopping at the threshold, and it converges:
 * every move strictly lowers that sum. From a donor it takes the shard the receiver's rendezvous hash claims most
 * strongly, so the mapping stays close to rendezvous placement and later joins and leaves move little.
 */
export function planWeighted(
  snapshot: ClusterSnapshot,
  settings: Pick<PlannerSettings, 'batchSize' | 'imbalanceThreshold'>,
  state: RebalanceState = 'idle',
): PlanResult {
  const inputs = rebalanceInputs(snapshot);
  if ('kind' in inputs) return inputs;
  const { ctx, tally } = inputs;
  const nodes = ctx.eligible;
  const n = nodes.length;
  const { counts, lists, pinned } = tally;
  const w = ctx.weights;
  const ideal = w.map((wi) => (tally.total * wi) / ctx.totalWeight);
  const spreadBefore = spreadOf(counts, ideal);
  const summary = (): string =>
    `count/ideal spread ${round(spreadBefore)} → ${round(spreadOf(counts, ideal))}, threshold ${settings.imbalanceThreshold}`;
  if (state === 'idle' && spreadBefore <= settings.imbalanceThreshold) return skip('within-threshold', `weighted: ${summary()}`);

  const rendezvous = new Rendezvous(nodes, w);
  const moved = new Uint8Array(snapshot.numShards);
  const exhausted = new Uint8Array(n);
  const writes: ShardWrite[] = [];
  let pinnedOnly = false;
  // Moving one shard from a to b lowers the sum by over(a) - under(b), where over = (2d - 1) / w and
  // under = (2d + 1) / w with d = count - ideal: improving iff over(a) > under(b).
  moves: while (writes.length < settings.batchSize) {
    let b = 0;
    for (let i = 1; i < n; i++) if (under(i) < under(b)) b = i;
    for (;;) {
      let a = -1;
      for (let i = 0; i < n; i++) if (i !== b && exhausted[i] === 0 && (a < 0 || over(i) > over(a))) a = i;
      if (a < 0 || over(a) - under(b) <= EPSILON) break moves;
      const pick = strongestClaim(lists[a]!, b);
      if (pick < 0) {
        exhausted[a] = 1;
        pinnedOnly = true;
        continue;
      }
      moved[pick] = 1;
      writes.push(shardWrite(snapshot, pick, { target: nodes[b]! }));
      counts[a]!--;
      counts[b]!++;
      continue moves;
    }
  }
  if (writes.length > 0) return { kind: 'write', writes, text: `weighted: move ${writes.length} shards (${describeMoves(writes)}); ${summary()}` };
  if (pinnedOnly) return skip('only-pinned-movable', `weighted: the nodes above their ideal hold only pinned shards; ${summary()}`);
  return skip('balanced', `weighted: no move brings a node closer to its ideal; ${summary()}`);

  function over(i: number): number {
    return (2 * (counts[i]! - ideal[i]!) - 1) / w[i]!;
  }
  function under(i: number): number {
    return (2 * (counts[i]! - ideal[i]!) + 1) / w[i]!;
  }
  /** The unpinned, not yet moved shard of `list` that node `b` claims most strongly; -1 if none. */
  function strongestClaim(list: readonly number[], b: number): number {
    let best = -1;
    let bestAffinity = -Infinity;
    for (const id of list) {
      if (pinned[id] === 1 || moved[id] === 1) continue;
      const a = rendezvous.affinity(id, b);
      if (a > bestAffinity) {
        bestAffinity = a;
        best = id;
      }
    }
    return best;
  }
}

/** max(count/ideal) - min(count/ideal) over the eligible nodes. */
function spreadOf(counts: ArrayLike<number>, ideal: readonly number[]): number {
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < ideal.length; i++) {
    const r = ideal[i]! > 0 ? counts[i]! / ideal[i]! : 0;
    if (r > max) max = r;
    if (r < min) min = r;
  }
  return max - min;
}
