import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import type { PlannerContext } from './context.js';
import { Rendezvous } from './rendezvous.js';
import type { AssignmentMode } from './settings.js';

/** Upstream's baseline placement: shard i goes to the i-th node (mod n) of the byte-wise sorted list. */
export function roundRobinTarget(sortedNodes: readonly string[], shardId: number): string {
  const node = sortedNodes[shardId % sortedNodes.length];
  if (node === undefined) throw new RangeError('roundRobinTarget needs at least one node');
  return node;
}

/**
 * Chooses eligible nodes for shards that need a target. Rendezvous mode takes the shard's rendezvous winner among
 * the nodes still below their ideal share (ceil(numShards * weight / Σweight), counting every shard already targeted
 * at them): the bound keeps an initial mapping or a leave exactly proportional to the weights, while a shard still
 * goes to the node that hashes best for it whenever that node has room, so later joins and leaves move little.
 */
export class Placement {
  private readonly rendezvous: Rendezvous | null;
  private readonly counts: Int32Array;
  private readonly caps: Float64Array;
  /** 1 for nodes at or above their cap; the excluded node is blocked temporarily during a choice. */
  private readonly full: Uint8Array;
  /** Nodes marked in `full`: while none is, rendezvous runs without the mask (faster). */
  private fullCount = 0;

  constructor(
    private readonly ctx: PlannerContext,
    snapshot: ClusterSnapshot,
    mode: AssignmentMode,
  ) {
    const n = ctx.eligible.length;
    this.rendezvous = mode === 'rendezvous' ? new Rendezvous(ctx.eligible, ctx.weights) : null;
    this.counts = new Int32Array(n);
    for (const entry of snapshot.shards) {
      const i = entry === undefined ? undefined : ctx.index.get(entry.target);
      if (i !== undefined) this.counts[i]!++;
    }
    this.caps = Float64Array.from(ctx.weights, (w) => Math.ceil((snapshot.numShards * w) / ctx.totalWeight));
    this.full = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (this.counts[i]! >= this.caps[i]!) this.markFull(i);
  }

  /** Records that a shard was given to `node` by other means (adopting its current owner). */
  add(node: string): void {
    const i = this.ctx.index.get(node);
    if (i !== undefined) this.count(i);
  }

  /** The node for a shard, never `exclude`; null when no other eligible node exists. */
  choose(shardId: number, exclude?: string): string | null {
    const nodes = this.ctx.eligible;
    const ex = exclude === undefined ? undefined : this.ctx.index.get(exclude);
    if (this.rendezvous === null) {
      for (let k = 0; k < nodes.length; k++) {
        const i = (shardId + k) % nodes.length;
        if (i !== ex) return this.count(i);
      }
      return null;
    }
    let i = this.winnerExcluding(shardId, this.full, ex);
    // Every node at its cap can only happen with an exclusion; fall back to the plain winner.
    if (i < 0) i = this.winnerExcluding(shardId, new Uint8Array(nodes.length), ex);
    return i < 0 ? null : this.count(i);
  }

  private winnerExcluding(shardId: number, blocked: Uint8Array, ex: number | undefined): number {
    if (ex === undefined) return this.rendezvous!.winner(shardId, blocked === this.full && this.fullCount === 0 ? undefined : blocked);
    const saved = blocked[ex]!;
    blocked[ex] = 1;
    const i = this.rendezvous!.winner(shardId, blocked);
    blocked[ex] = saved;
    return i;
  }

  private count(i: number): string {
    this.counts[i]!++;
    if (this.counts[i]! >= this.caps[i]! && this.full[i] === 0) this.markFull(i);
    return this.ctx.eligible[i]!;
  }

  private markFull(i: number): void {
    this.full[i] = 1;
    this.fullCount++;
  }
}
