import type { ShardWriteReport } from '../../../src/edge/etcd/shardWriter.js';

/** The report of a shard write in which every shard was written at `modRevision`. */
export function allWritten(shards: readonly { readonly shardId: number }[], modRevision: number): ShardWriteReport {
  return {
    results: shards.map((s) => ({ status: 'written', shardId: s.shardId, modRevision, raw: '' })),
    written: shards.length,
    conflicts: 0,
    failed: 0,
    guardFailure: null,
    recorded: false,
  };
}
