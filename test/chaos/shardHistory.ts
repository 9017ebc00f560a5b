/**
 * Records every change of every `<prefix>/shard/<id>` key, revision by revision, from a raw etcd watch: the pinned
 * shard check needs each write on its own (a re-list would merge an operator's retarget with the claims after it).
 * The watch resumes from the last delivered revision after a disconnect (etcd restarts keep their data); a cancelled
 * watch (compaction, which the run never does) would leave a gap, so it is reported rather than papered over.
 */
import { parseShardId } from '../../src/core/keyspace/keys.js';
import type { EtcdClient, WatchHandle } from '../../src/edge/etcd/client.js';
import type { ShardChange } from './history.js';

export class ShardHistory {
  readonly changes: ShardChange[] = [];
  /** Why the history may be incomplete; null while it is complete. */
  gap: string | null = null;
  private readonly values = new Map<number, string>();
  private watch: WatchHandle | null = null;

  private constructor(private readonly root: string) {}

  static async start(client: EtcdClient, prefix: string): Promise<ShardHistory> {
    const history = new ShardHistory(`${prefix}/shard/`);
    const { kvs, revision } = await client.rangePrefix(history.root);
    for (const kv of kvs) {
      const id = history.shardOf(kv.key);
      if (id !== null) history.values.set(id, kv.value);
    }
    history.watch = client.watchPrefix(history.root, revision + 1, {
      onEvents: (events) => {
        const time = Date.now();
        for (const ev of events) {
          const key = ev.type === 'put' ? ev.kv.key : ev.key;
          const shard = history.shardOf(key);
          if (shard === null) continue;
          const before = history.values.get(shard) ?? null;
          const after = ev.type === 'put' ? ev.kv.value : null;
          if (after === null) history.values.delete(shard);
          else history.values.set(shard, after);
          const revision = ev.type === 'put' ? ev.kv.modRevision : ev.modRevision;
          // Every write, a re-put of the same value too: a merge re-puts its low shard in the transaction that deletes
          // the high one, and the pin check looks for that write.
          history.changes.push({ time, revision, shard, before, after });
        }
      },
      onConnected: () => undefined,
      onDisconnected: () => undefined,
      onCancelled: (err) => {
        history.gap = `the shard watch was cancelled: ${err.message}`;
      },
    });
    return history;
  }

  /** The shard's value as of the last recorded change (null: absent). */
  valueOf(shard: number): string | null {
    return this.values.get(shard) ?? null;
  }

  async stop(): Promise<void> {
    await this.watch?.cancel();
    this.watch = null;
  }

  /** Only the canonical key of a shard: aliases such as `shard/007` (hostile writes) are not that shard. */
  private shardOf(key: string): number | null {
    if (!key.startsWith(this.root)) return null;
    const id = parseShardId(key.slice(this.root.length), Number.MAX_SAFE_INTEGER);
    return typeof id === 'number' ? id : null;
  }
}
