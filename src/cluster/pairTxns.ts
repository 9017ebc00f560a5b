/**
 * Runs the pair transactions of a shard-count transition (PairTxn, core/planner/reshard.ts) for the owner of a pair
 * and for the leader: many pairs per etcd transaction, within its 128 compares and 128 operations, every value
 * checked against its bound. A transaction either splits or merges all its pairs or none; a lost compare heals the
 * snapshot from the keys its failure branch read, and the pairs are planned again on a later pass.
 */
import { describeError } from '../core/errors.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import { checkValueSize } from '../core/keyspace/valueBounds.js';
import type { Logger } from '../core/log/logger.js';
import type { PairTxn } from '../core/planner/reshard.js';
import { MAX_TXN_OPS, type TxnCompare, type TxnOp, type TxnRequest, type TxnResult } from '../edge/etcd/client.js';
import type { ShardWrites } from './shardWrites.js';

export interface PairTxnContext {
  readonly keys: Keyspace;
  readonly log: Logger;
  readonly writes: Pick<ShardWrites, 'healFromTxn'>;
  txn(request: TxnRequest): Promise<TxnResult>;
}

/** The pairs one transaction committed, at its revision. */
export interface CommittedPairs {
  readonly revision: number;
  readonly pairs: readonly PairTxn[];
}

/** Commits the pairs in as few transactions as fit; `guard` (the leader's) goes into each. Returns what committed. */
export async function commitPairs(ctx: PairTxnContext, pairs: readonly PairTxn[], label: string, guard?: TxnCompare): Promise<CommittedPairs[]> {
  const out: CommittedPairs[] = [];
  for (const batch of packPairs(ctx, pairs, guard === undefined ? 0 : 1)) {
    const compares = [...(guard === undefined ? [] : [guard]), ...batch.compares];
    const reads = compares.map((c) => c.key);
    try {
      const res = await ctx.txn({ compares, success: batch.ops, failureReads: reads });
      if (res.succeeded) {
        out.push({ revision: res.revision, pairs: batch.pairs });
        continue;
      }
      ctx.writes.healFromTxn(reads, res);
      ctx.log.debug(`${label}: a pair transaction lost a compare; planned again`, { pairs: batch.pairs.length });
      // A failed guard ends the batches: the next pass decides again who leads.
      if (guard !== undefined && res.reads.get(guard.key)?.modRevision !== guard.modRevision) break;
    } catch (err) {
      ctx.log.warn(`${label}: a pair transaction failed; retried on a later pass`, { pairs: batch.pairs.length, err: describeError(err) });
    }
  }
  return out;
}

interface Batch {
  readonly pairs: PairTxn[];
  readonly compares: TxnCompare[];
  readonly ops: TxnOp[];
}

function packPairs(ctx: PairTxnContext, pairs: readonly PairTxn[], reserved: number): Batch[] {
  const batches: Batch[] = [];
  let cur: Batch = { pairs: [], compares: [], ops: [] };
  for (const pair of pairs) {
    const ops = pairOps(ctx, pair);
    if (ops === null) continue;
    const compares = pair.compares.map((c) => ({ key: ctx.keys.shard(c.shardId), modRevision: c.modRevision }));
    if (cur.pairs.length > 0 && (cur.compares.length + compares.length + reserved > MAX_TXN_OPS || cur.ops.length + ops.length > MAX_TXN_OPS)) {
      batches.push(cur);
      cur = { pairs: [], compares: [], ops: [] };
    }
    cur.pairs.push(pair);
    cur.compares.push(...compares);
    cur.ops.push(...ops);
  }
  if (cur.pairs.length > 0) batches.push(cur);
  return batches;
}

/** The pair's operations, or null when a value exceeds its bound (flags inflated by a forger): the pair waits. */
function pairOps(ctx: PairTxnContext, pair: PairTxn): TxnOp[] | null {
  const { keys } = ctx;
  const ops: TxnOp[] = pair.puts.map((p) => ({ type: 'put', key: keys.shard(p.shardId), value: p.value }));
  if (pair.deletes !== null) {
    for (const key of [keys.shard(pair.deletes), keys.migration(pair.deletes), keys.releaseRequest(pair.deletes)]) ops.push({ type: 'delete', key });
  }
  try {
    for (const op of ops) if (op.type === 'put') checkValueSize(keys, op.key, op.value);
    return ops;
  } catch (err) {
    ctx.log.warn(`pair ${pair.low}/${pair.high} not ${pair.op === 'split' ? 'split' : 'merged'}`, { err: describeError(err) });
    return null;
  }
}
