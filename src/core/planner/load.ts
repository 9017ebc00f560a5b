import type { LoadRecord } from '../keyspace/records.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { describeMoves, type PlanResult, type RebalanceState, round, type ShardWrite, shardWrite, skip } from './plan.js';
import type { PlannerSettings } from './settings.js';
import { shardLoads } from './shardLoad.js';
import { rebalanceInputs } from './tally.js';

/**
 * Per-shard load (see shardLoads) against the weighted ideal (ideal_i = total load * w_i / Σw). Hysteresis: nothing
 * moves while every node is within ±band of its ideal (±band/2 right after a round that moved shards); a round then
 * moves up to `moveBudget` shards until every node is within ±band/2. Each move goes from a node above its ideal to
 * the node furthest below it and takes the shard whose load best closes the gap between the two, so it strictly
 * lowers Σ (load_i - ideal_i)² / w_i: repeated planning on the resulting state converges and never ping-pongs.
 * A node whose excess is one hot shard that cannot move without overshooting is passed over. No move makes a node
 * hold more than twice its weighted share of shards: load alone would pile idle shards onto the coolest node.
 */
export function planLoad(
  snapshot: ClusterSnapshot,
  settings: Pick<PlannerSettings, 'load'>,
  loads: ReadonlyMap<string, LoadRecord> = snapshot.load,
  state: RebalanceState = 'idle',
): PlanResult {
  const inputs = rebalanceInputs(snapshot);
  if ('kind' in inputs) return inputs;
  const { ctx, tally } = inputs;
  const nodes = ctx.eligible;
  const n = nodes.length;
  const { band, moveBudget } = settings.load;
  const { perShard, signals } = shardLoads(snapshot, loads, settings.load);
  const { lists, pinned } = tally;
  const w = ctx.weights;
  const counts = Int32Array.from(tally.counts);
  const countCap = w.map((wi) => Math.max(2, Math.floor((2 * tally.total * wi) / ctx.totalWeight)));
  const nodeLoad = lists.map((list) => list.reduce((s, id) => s + perShard[id]!, 0));
  const total = nodeLoad.reduce((s, l) => s + l, 0);
  const ideal = w.map((wi) => (total * wi) / ctx.totalWeight);
  const surplus = (i: number): number => (nodeLoad[i]! - ideal[i]!) / w[i]!;
  const worst = (): number => {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(nodeLoad[i]! / ideal[i]! - 1));
    return m;
  };
  const worstBefore = worst();
  const basis = signals.length === 0 ? 'no load reports, shards count equally' : signals.join('+');
  const summary = (): string => `largest deviation from ideal ${round(worstBefore)} → ${round(worst())}, band ±${band} (${basis})`;
  const trigger = state === 'active' ? band / 2 : band;
  if (total === 0 || worstBefore <= trigger) return skip('within-hysteresis', `load: ${summary()}`);

  const moved = new Uint8Array(snapshot.numShards);
  const writes: ShardWrite[] = [];
  let pinnedOnly = false;
  const tried = new Uint8Array(n);
  moves: while (writes.length < moveBudget && worst() > band / 2) {
    let b = -1;
    for (let i = 0; i < n; i++) if (counts[i]! < countCap[i]! && (b < 0 || surplus(i) < surplus(b))) b = i;
    if (b < 0) break;
    tried.fill(0);
    // Donors from the most over-ideal down; usually the first one has a fitting shard.
    for (;;) {
      let a = -1;
      for (let i = 0; i < n; i++) if (tried[i] === 0 && surplus(i) > surplus(b) && (a < 0 || surplus(i) > surplus(a))) a = i;
      if (a < 0) break moves;
      tried[a] = 1;
      // Moving load x from a to b lowers the sum by (1/w_a + 1/w_b) * (g² - (x - g)²), best at x = g.
      const g = (surplus(a) - surplus(b)) / (1 / w[a]! + 1 / w[b]!);
      let pick = -1;
      let bestGap = g * (1 - 1e-9);
      let movable = false;
      for (const id of lists[a]!) {
        if (pinned[id] === 1 || moved[id] === 1) continue;
        movable = true;
        const gap = Math.abs(perShard[id]! - g);
        if (gap < bestGap) {
          bestGap = gap;
          pick = id;
        }
      }
      if (!movable) pinnedOnly = true;
      if (pick < 0) continue;
      moved[pick] = 1;
      writes.push(shardWrite(snapshot, pick, { target: nodes[b]! }));
      nodeLoad[a]! -= perShard[pick]!;
      nodeLoad[b]! += perShard[pick]!;
      counts[a]!--;
      counts[b]!++;
      continue moves;
    }
  }
  if (writes.length > 0) return { kind: 'write', writes, text: `load: move ${writes.length} shards (${describeMoves(writes)}); ${summary()}` };
  if (pinnedOnly) return skip('only-pinned-movable', `load: the nodes above their ideal hold only pinned shards; ${summary()}`);
  return skip('no-improving-move', `load: no movable shard brings a node closer to its ideal; ${summary()}`);
}
