import { expect } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { encodeShardCount, type ReshardKind, type ReshardState } from '../../../../src/core/keyspace/shardCount.js';
import type { PairTxn } from '../../../../src/core/planner/reshard.js';
import type { ClusterSnapshot } from '../../../../src/core/snapshot/snapshot.js';
import { nodeInfo, put, remove } from './fixtures.js';

/** Writes a transition of `kind` from the count in force into the record. */
export function transition(snap: ClusterSnapshot, kind: ReshardKind, state: ReshardState = 'running', reshards = snap.layout.reshards): ClusterSnapshot {
  const from = snap.layout.count;
  const to = kind === 'split' ? from * 2 : from / 2;
  const record = { count: from, transition: { kind, from, to, state, startedAt: 1, by: 'op@h', id: 't1' }, reshards };
  return put(snap, 'shard-count', encodeShardCount(record));
}

/** Writes a record without a transition. */
export function settled(snap: ClusterSnapshot, count: number, reshards = 0): ClusterSnapshot {
  return put(snap, 'shard-count', encodeShardCount({ count, transition: null, reshards }));
}

/** Applies a pair transaction as etcd would (its compares must hold). */
export function commit(snap: ClusterSnapshot, txn: PairTxn): ClusterSnapshot {
  for (const c of txn.compares) expect(snap.shards[c.shardId]?.modRevision ?? 0).toBe(c.modRevision);
  let out = snap;
  for (const p of txn.puts) out = put(out, `shard/${p.shardId}`, p.value);
  if (txn.deletes !== null) out = remove(out, `shard/${txn.deletes}`);
  return out;
}

/** Nodes that publish `reshard: 1`. */
export function followers(snap: ClusterSnapshot, nodes: readonly string[]): ClusterSnapshot {
  return nodes.reduce((s, n) => put(s, `nodeinfo/${n}`, encodeRecord({ ...nodeInfo(1), reshard: 1 })), snap);
}
