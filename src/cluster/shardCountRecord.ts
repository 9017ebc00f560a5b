/**
 * A member's first look at the cluster's shard count (docs/RESHARDING.md §2, §3), before it registers: a malformed
 * record, or an explicitly configured count that disagrees with the record, stops the start (ConfigError: exit 2),
 * since routing with the wrong count would place objects in the wrong shard. A cluster without a record gets one
 * with the configured count (create-only CAS), which from then on is the truth.
 */
import { ConfigError, describeError } from '../core/errors.js';
import type { Keyspace } from '../core/keyspace/keys.js';
import { encodeShardCount, isShardCount } from '../core/keyspace/shardCount.js';
import type { Logger } from '../core/log/logger.js';
import { type ConfiguredShardCount, configuredCountProblem } from '../core/snapshot/layout.js';
import type { ClusterSnapshot } from '../core/snapshot/snapshot.js';
import type { TxnRequest, TxnResult } from '../edge/etcd/client.js';
import type { ShardWrites } from './shardWrites.js';

export interface ShardCountContext {
  readonly keys: Keyspace;
  readonly log: Logger;
  readonly writes: Pick<ShardWrites, 'healFromTxn'>;
  snapshot(): ClusterSnapshot;
  txn(request: TxnRequest): Promise<TxnResult>;
}

/** Checks the configured count against the record, creating the record when there is none. Throws ConfigError. */
export async function adoptShardCount(ctx: ShardCountContext, configured: ConfiguredShardCount): Promise<void> {
  check(ctx, configured);
  const snap = ctx.snapshot();
  const { keys, log } = ctx;
  if (snap.layout.source === 'record' || snap.malformed.has(keys.shardCount)) return;
  if (!isShardCount(configured.count)) {
    log.info('the shard count is not a power of two: this cluster cannot be resharded', { shards: configured.count });
    return;
  }
  try {
    const res = await ctx.txn({
      compares: [{ key: keys.shardCount, modRevision: 0 }],
      success: [{ type: 'put', key: keys.shardCount, value: encodeShardCount({ count: configured.count, transition: null, reshards: 0 }) }],
      failureReads: [keys.shardCount],
    });
    if (res.succeeded) {
      log.info('created the shard-count record', { shards: configured.count, revision: res.revision });
      return;
    }
    // Another process created it first: it is the truth, which this count must agree with.
    ctx.writes.healFromTxn([keys.shardCount], res);
    check(ctx, configured);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    log.warn('could not create the shard-count record; the next start tries again', { err: describeError(err) });
  }
}

function check(ctx: ShardCountContext, configured: ConfiguredShardCount): void {
  const problem = configuredCountProblem(ctx.snapshot(), configured);
  if (problem !== null) throw problem;
}
