import { clusterBinding, type ClusterBinding } from './clusterBinding.js';
import { StaleEpochError } from './errors.js';
import type { LoadedState, ObjectKey, ObjectStore } from './objectStore.js';

interface Row {
  state: string;
  epoch: number;
}

/** The ObjectStore contract in memory, for unit tests and transient nodes. */
export class MemoryObjectStore implements ObjectStore {
  private readonly rows = new Map<string, Row>();
  private cluster: string | null = null;

  async bindCluster(cluster: string, adoptFrom?: string): Promise<ClusterBinding> {
    const binding = clusterBinding('in memory', this.cluster, cluster, adoptFrom);
    this.cluster = cluster;
    return binding;
  }

  async load(key: ObjectKey, epoch: number, initialState: string): Promise<LoadedState> {
    const row = this.rows.get(rowKey(key));
    if (row === undefined) {
      this.rows.set(rowKey(key), { state: initialState, epoch });
      return { state: initialState, created: true };
    }
    if (row.epoch > epoch) throw new StaleEpochError(key, epoch, row.epoch);
    row.epoch = epoch;
    return { state: row.state, created: false };
  }

  async save(key: ObjectKey, epoch: number, state: string): Promise<void> {
    const row = this.rows.get(rowKey(key));
    if (row === undefined || row.epoch > epoch) throw new StaleEpochError(key, epoch, row?.epoch ?? null);
    row.state = state;
    row.epoch = epoch;
  }

  async delete(key: ObjectKey, epoch: number): Promise<boolean> {
    const row = this.rows.get(rowKey(key));
    if (row === undefined) return false;
    if (row.epoch > epoch) throw new StaleEpochError(key, epoch, row.epoch);
    return this.rows.delete(rowKey(key));
  }

  async probe(_bytes: number): Promise<void> {}

  async close(): Promise<void> {}

  /** The stored row, for assertions. */
  peek(key: ObjectKey): { readonly state: string; readonly epoch: number } | undefined {
    const row = this.rows.get(rowKey(key));
    return row === undefined ? undefined : { ...row };
  }
}

function rowKey(key: ObjectKey): string {
  return `${key.type}\u0000${key.id}`;
}
