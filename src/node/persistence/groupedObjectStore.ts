import type { Clock } from '../../core/clock.js';
import type { ClusterBinding } from './clusterBinding.js';
import { GroupCommit, type GroupLimits, type Settled } from './groupCommit.js';
import type { LoadedState, ObjectKey, ObjectStore, StoreWrite, StoreWriteResult } from './objectStore.js';

/**
 * What group commit makes the same for every database engine: load, save and delete queue a write; the writes queued
 * meanwhile commit as one group in one transaction (`commitGroup`, the engine's); close lets the queue drain before
 * the engine lets go of its database (`release`).
 */
export abstract class GroupedObjectStore implements ObjectStore {
  private readonly group: GroupCommit<StoreWrite, StoreWriteResult>;

  protected constructor(limits: GroupLimits, clock: Clock) {
    this.group = new GroupCommit((writes) => this.commitGroup(writes), limits, clock);
  }

  abstract bindCluster(cluster: string, adoptFrom?: string): Promise<ClusterBinding>;
  abstract probe(bytes: number): Promise<void>;

  /** One group, in one transaction; one settlement per write, in the order given. */
  protected abstract commitGroup(writes: readonly StoreWrite[]): Promise<Settled<StoreWriteResult>[]>;

  /** Closes the engine's connections or file, once no write is queued or committing. */
  protected abstract release(): Promise<void>;

  load(key: ObjectKey, epoch: number, initialState: string): Promise<LoadedState> {
    return this.write({ kind: 'load', key, epoch, initialState });
  }

  save(key: ObjectKey, epoch: number, state: string): Promise<void> {
    return this.write({ kind: 'save', key, epoch, state });
  }

  delete(key: ObjectKey, epoch: number): Promise<boolean> {
    return this.write({ kind: 'delete', key, epoch });
  }

  /** Lets the queued writes commit (or fail), then releases the database. */
  async close(): Promise<void> {
    await this.group.idle();
    await this.release();
  }

  private write<W extends StoreWrite>(w: W): Promise<StoreWriteResult<W>> {
    return this.group.submit(w) as Promise<StoreWriteResult<W>>;
  }
}
