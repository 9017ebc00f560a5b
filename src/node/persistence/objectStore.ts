import type { ClusterBinding } from './clusterBinding.js';

/**
 * Durable object state behind an interface, with epoch fencing (docs/ARCHITECTURE.md, "Persistence fencing").
 *
 * Every row carries the epoch (shard ownership revision) of the owner that last activated or wrote it. Activation
 * raises it; writes succeed only while it is not higher than the writer's. A former owner that was frozen or
 * partitioned therefore cannot overwrite state that a newer owner has already taken over. Activation creates the row
 * when it is missing, so that even a never-saved object fences its earlier owners.
 *
 * States are opaque JSON text here; the object layer encodes and validates them.
 */
export interface ObjectKey {
  readonly type: string;
  readonly id: string;
}

export interface LoadedState {
  /** The stored JSON text; `initialState` when the row was just created. */
  readonly state: string;
  /** True when the row did not exist and was created by this load. */
  readonly created: boolean;
}

/**
 * The writes a store applies in one transaction under group commit (`GroupCommit`): each is fenced by its own epoch,
 * so a stale one is refused alone. Activation writes too (it raises the epoch or creates the row).
 */
export type StoreWrite =
  | { readonly kind: 'load'; readonly key: ObjectKey; readonly epoch: number; readonly initialState: string }
  | { readonly kind: 'save'; readonly key: ObjectKey; readonly epoch: number; readonly state: string }
  | { readonly kind: 'delete'; readonly key: ObjectKey; readonly epoch: number };

/** `save Counter/c`, for messages. */
export function describeWrite(w: StoreWrite): string {
  return `${w.kind} ${w.key.type}/${w.key.id}`;
}

/** What each write returns: `load` the state, `delete` whether there was a row. */
export type StoreWriteResult<W extends StoreWrite = StoreWrite> = W extends { kind: 'load' }
  ? LoadedState
  : W extends { kind: 'delete' }
    ? boolean
    : void;

export interface ObjectStore {
  /**
   * Binds the store to the node's cluster (its etcd prefix); a node calls it once, before anything else. Records the
   * cluster when the store has none, accepts its own, and throws ClusterMismatchError for another cluster's store
   * unless `adoptFrom` names that cluster: then the store is moved to `cluster` (a deliberate move).
   */
  bindCluster(cluster: string, adoptFrom?: string): Promise<ClusterBinding>;
  /**
   * Activation, atomically: read the row and raise its epoch to `epoch`, or insert it with `initialState`.
   * Throws StaleEpochError when the row's epoch is higher than `epoch`.
   *
   * `load`, `save` and `delete` resolve only once their write is durable. A store may commit the writes of several
   * callers in one transaction (group commit), each fenced on its own: a stale one fails alone.
   */
  load(key: ObjectKey, epoch: number, initialState: string): Promise<LoadedState>;
  /** Replaces the state if the row's epoch is at most `epoch`; otherwise (or when the row is gone) StaleEpochError. */
  save(key: ObjectKey, epoch: number, state: string): Promise<void>;
  /** Deletes the row if its epoch is at most `epoch`; false when there was none. StaleEpochError when it is higher. */
  delete(key: ObjectKey, epoch: number): Promise<boolean>;
  /**
   * Checks that the store accepts a write of about `bytes` bytes again (after failures), leaving no object changed.
   * Throws PersistenceError when it does not.
   */
  probe(bytes: number): Promise<void>;
  close(): Promise<void>;
}
