import type { Keyspace } from '../../core/keyspace/keys.js';
import { buildSnapshot, type ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import type { CallOptions, EtcdClient } from './client.js';

/** One consistent read of `<prefix>/` (the history aside) into a snapshot, for one-shot commands that need no watch. */
export async function readSnapshot(client: EtcdClient, keys: Keyspace, numShards: number, options?: CallOptions): Promise<ClusterSnapshot> {
  const { kvs, revision } = await client.rangePrefix(keys.root, { ...options, except: keys.historyRoot });
  return buildSnapshot(keys.prefix, numShards, kvs, revision);
}
