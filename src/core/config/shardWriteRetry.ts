import type { GoverseConfig } from './settings/spec.js';

/**
 * How a shard writer retries transient etcd failures (src/edge/etcd/shardWriter.ts), in milliseconds. Conflicts and
 * permanent errors are never retried.
 */
export interface ShardWriteRetry {
  /** A write call stops retrying after this long; the shards not yet written then fail. */
  readonly deadlineMs: number;
  /** Deadline of one transaction attempt, cut to what is left of the call's deadline. */
  readonly attemptTimeoutMs: number;
  /** Wait before the first retry; it doubles per retry up to `backoffMaxMs`, and half of it is random (jitter). */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
}

export const DEFAULT_SHARD_WRITE_RETRY: ShardWriteRetry = { deadlineMs: 10_000, attemptTimeoutMs: 5000, backoffInitialMs: 50, backoffMaxMs: 1000 };

/** The shard writers' retry of a resolved configuration (every process that writes shards: the node, the CLI, the console). */
export function shardWriteRetryFromConfig(config: GoverseConfig): ShardWriteRetry {
  return {
    deadlineMs: config.shardWriteDeadline,
    attemptTimeoutMs: config.shardWriteAttemptTimeout,
    backoffInitialMs: config.shardWriteBackoff,
    backoffMaxMs: config.shardWriteBackoffMax,
  };
}
