import type { WaitOptions } from './waitOptions.js';

/**
 * What the object host needs from the cluster runtime to serve safely: ownership epochs and the shard read lock.
 *
 * The host takes the shard's read lock for the whole of a call, create or delete, then asks for the epoch *under the
 * lock* (no check-then-lock gap, docs/UPSTREAM.md §13.2), and again before acknowledging a change. The runtime holds
 * the shard's write lock while it claims, evicts and releases, so those never interleave with calls on the shard.
 * Fixed-shard IDs (`shard#<n>/<id>`) are gated by shard n like any other object (docs/UPSTREAM.md §13.1); only
 * fixed-node IDs (`<node>/<id>`) skip the shard lock and use the node epoch.
 */
export interface ShardGate {
  /** This node's address: fixed-node objects of other nodes are refused. */
  readonly nodeAddress: string;
  /**
   * The epoch of this node's current ownership of the shard (the ModRevision of its claim write), or null when the
   * node must not serve the shard now: not its owner, migrating away, or fenced.
   */
  shardEpoch(shardId: number): number | null;
  /** The epoch for fixed-node objects (for example the node's registration revision), or null while fenced. */
  nodeEpoch(): number | null;
  /** Takes the shard read lock (writer-preferring). Rejects on abort or deadline with a typed, retriable error. */
  acquireRead(shardId: number, options: WaitOptions & { readonly label?: string }): Promise<ShardReadLease>;
}

export interface ShardReadLease {
  /** Aborted if the lock is taken away (forced release after the maximum hold time). */
  readonly signal: AbortSignal;
  /** Idempotent. */
  release(): void;
}
