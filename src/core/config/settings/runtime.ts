import { autoLoadObjects } from '../autoLoad.js';
import { DEFAULT_SHARD_WRITE_RETRY } from '../shardWriteRetry.js';
import { duration, integer } from '../valueTypes.js';
import { positiveDuration, type SettingTable } from './spec.js';

/** Longest shard write deadline or attempt: a leader pass or an operator's command waits that long at most. */
const MAX_SHARD_WRITE_WAIT_MS = 10 * 60_000;
/** Longest wait between two attempts. */
const MAX_SHARD_WRITE_BACKOFF_MS = 60_000;

/** Shard locks, shard writes and objects: timeouts, retries, objects created at start, state size (group `cluster`). */
export const RUNTIME_SETTINGS = {
  lockTimeout: {
    group: 'cluster',
    usedBy: 'node',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_LOCK_TIMEOUT',
    yaml: 'cluster.lock_timeout',
    description: 'Longest wait for a shard lock.',
  },
  lockMaxHold: {
    group: 'cluster',
    usedBy: 'node',
    type: positiveDuration,
    default: 60_000,
    env: 'GOVERSE_LOCK_MAX_HOLD',
    yaml: 'cluster.lock_max_hold',
    description: 'A shard lock held longer is force-released with an error log.',
  },
  lockWarnThreshold: {
    group: 'cluster',
    usedBy: 'node',
    type: duration(),
    default: 1000,
    env: 'GOVERSE_LOCK_WARN_THRESHOLD',
    yaml: 'cluster.lock_warn_threshold',
    description: 'Acquiring a shard lock slower than this logs a warning.',
  },
  shardWriteDeadline: {
    group: 'cluster',
    usedBy: 'both',
    type: duration({ positive: true, max: MAX_SHARD_WRITE_WAIT_MS }),
    default: DEFAULT_SHARD_WRITE_RETRY.deadlineMs,
    env: 'GOVERSE_SHARD_WRITE_DEADLINE',
    yaml: 'cluster.shard_write_deadline',
    flag: '--shard-write-deadline',
    description:
      'How long a shard mapping write (leader, node, operator command) retries transient etcd failures before the shards not yet written fail; conflicts are never retried.',
  },
  shardWriteAttemptTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: duration({ positive: true, max: MAX_SHARD_WRITE_WAIT_MS }),
    default: DEFAULT_SHARD_WRITE_RETRY.attemptTimeoutMs,
    env: 'GOVERSE_SHARD_WRITE_ATTEMPT_TIMEOUT',
    yaml: 'cluster.shard_write_attempt_timeout',
    flag: '--shard-write-attempt-timeout',
    description: 'Deadline of one transaction of a shard mapping write; at most the write deadline.',
  },
  shardWriteBackoff: {
    group: 'cluster',
    usedBy: 'both',
    type: duration({ positive: true, max: MAX_SHARD_WRITE_BACKOFF_MS }),
    default: DEFAULT_SHARD_WRITE_RETRY.backoffInitialMs,
    env: 'GOVERSE_SHARD_WRITE_BACKOFF',
    yaml: 'cluster.shard_write_backoff',
    flag: '--shard-write-backoff',
    description: 'Wait before the first retry of a shard mapping transaction; it doubles per retry, half of it random (jitter).',
  },
  shardWriteBackoffMax: {
    group: 'cluster',
    usedBy: 'both',
    type: duration({ positive: true, max: MAX_SHARD_WRITE_BACKOFF_MS }),
    default: DEFAULT_SHARD_WRITE_RETRY.backoffMaxMs,
    env: 'GOVERSE_SHARD_WRITE_BACKOFF_MAX',
    yaml: 'cluster.shard_write_backoff_max',
    flag: '--shard-write-backoff-max',
    description: 'Longest wait between two attempts of a shard mapping transaction; at least the first backoff.',
  },
  defaultCallTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_DEFAULT_CALL_TIMEOUT',
    yaml: 'cluster.default_call_timeout',
    description: 'Deadline of an object call that sets none.',
  },
  defaultCreateTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_DEFAULT_CREATE_TIMEOUT',
    yaml: 'cluster.default_create_timeout',
    description: 'Deadline of an object creation that sets none.',
  },
  defaultDeleteTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 30_000,
    env: 'GOVERSE_DEFAULT_DELETE_TIMEOUT',
    yaml: 'cluster.default_delete_timeout',
    description: 'Deadline of an object deletion that sets none.',
  },
  autoLoadObjects: {
    group: 'cluster',
    usedBy: 'node',
    type: autoLoadObjects,
    default: [],
    yaml: 'cluster.auto_load_objects',
    description: 'Objects created at start: entries {type, id, per_shard, per_node}; per_shard and per_node exclude each other.',
  },
  keyValueMaxBytes: {
    group: 'cluster',
    usedBy: 'node',
    type: integer({ min: 64 }),
    default: 1024 * 1024,
    env: 'GOVERSE_KEYVALUE_MAX_BYTES',
    yaml: 'cluster.keyvalue_max_bytes',
    flag: '--keyvalue-max-bytes',
    description:
      'Largest state of a KeyValue object, in bytes of its stored JSON; a put or a creation beyond it is refused (HTTP 400, state_too_large). States already stored stay readable.',
  },
} satisfies SettingTable;
