import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';

interface Owned {
  /** ModRevision of this node's claim write: the fencing token of everything it persists for the shard. */
  readonly epoch: number;
  /**
   * The revision of this node's last split or merge of the shard's pair (0: none): the shard is served only from a
   * snapshot that has reached it, so no call places an object by the pair's old rule (docs/RESHARDING.md §8).
   */
  readonly layoutRevision: number;
}

/**
 * The shards this node has claimed in its current registration, with their epochs.
 *
 * An entry exists only after a claim write of this incarnation succeeded; registration loss clears everything, so a
 * node that comes back must write a fresh claim (a new epoch) before it serves a shard again.
 */
export class ShardOwnership {
  private readonly owned = new Map<number, Owned>();

  constructor(private readonly self: string) {}

  /** `layoutRevision`: a split or merge gave this epoch (see Owned). */
  claimed(shardId: number, epoch: number, layoutRevision = 0): void {
    this.owned.set(shardId, { epoch, layoutRevision });
  }

  /** A split at `revision` changed the shard's layout but not its epoch. */
  relaidOut(shardId: number, revision: number): void {
    const o = this.owned.get(shardId);
    if (o !== undefined) this.owned.set(shardId, { epoch: o.epoch, layoutRevision: revision });
  }

  released(shardId: number): void {
    this.owned.delete(shardId);
  }

  clear(): void {
    this.owned.clear();
  }

  has(shardId: number): boolean {
    return this.owned.has(shardId);
  }

  /** This node's claim of the shard is newer than `modRevision`: a snapshot at it has not seen the claim yet. */
  claimedSince(shardId: number, modRevision: number): boolean {
    return (this.owned.get(shardId)?.epoch ?? 0) > modRevision;
  }

  get size(): number {
    return this.owned.size;
  }

  ids(): IterableIterator<number> {
    return this.owned.keys();
  }

  /**
   * The epoch under which the shard may be served now, or null. Serving needs an own claim and, when the snapshot
   * knows a later write than that claim, TargetNode and CurrentNode both naming this node (a shard migrating away
   * is not served). The claim write itself set both, so before the watch echoes it the claim alone suffices.
   */
  servingEpoch(snapshot: ClusterSnapshot, shardId: number): number | null {
    const o = this.owned.get(shardId);
    if (o === undefined || snapshot.revision < o.layoutRevision) return null;
    const entry = snapshot.shards[shardId];
    if (entry !== undefined && entry.modRevision > o.epoch && (entry.current !== this.self || entry.target !== this.self)) {
      return null;
    }
    return o.epoch;
  }

  /** Owned shards that a later write gave to someone else (for example a forced release): to be dropped. */
  lost(snapshot: ClusterSnapshot): number[] {
    const out: number[] = [];
    for (const [id, o] of this.owned) {
      const entry = snapshot.shards[id];
      if (entry === undefined ? snapshot.revision > o.epoch : entry.modRevision > o.epoch && entry.current !== this.self) out.push(id);
    }
    return out;
  }
}
