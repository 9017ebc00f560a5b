/** The shard lock's public contract: options, handles, hooks and stats (the lock itself is in shardLock.ts). */
import type { Logger } from '../core/log/logger.js';
import type { Clock } from '../core/clock.js';
import type { HotShard } from './lockHotSpots.js';

export type LockMode = 'read' | 'write';

export interface AcquireOptions {
  /** Aborting rejects a queued acquisition with AbortedError and removes it from the queue. */
  signal?: AbortSignal;
  /** Relative deadline; LockTimeoutError when it passes. Defaults to the lock's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /** Absolute deadline in `clock.monotonic()` milliseconds; the earlier of this and `timeoutMs` applies. */
  deadline?: number;
  /** Who holds or waits (for example `evict`, `call Counter.Inc`): shown in logs and stats. */
  label?: string;
}

export interface ShardLockHandle {
  /** False once released, or once force-released after the maximum hold time. */
  readonly held: boolean;
  /** Aborted (reason: LockTimeoutError) when the lock is force-released; pass it to I/O done under the lock. */
  readonly signal: AbortSignal;
  /** Releases the lock. Idempotent; a no-op after a forced release. */
  release(): void;
}

/** Instrumentation callbacks; the node maps them to Prometheus metrics. Called synchronously: keep them cheap. */
export interface ShardLockHooks {
  /** Every grant, with the time spent queued (0 on the fast path). For multi-shard writes, once per shard. */
  acquired(mode: LockMode, waitMs: number): void;
  /** The number of write locks held changed. */
  writeLocksHeld(count: number): void;
  timedOut(mode: LockMode): void;
  aborted(mode: LockMode): void;
  forcedRelease(mode: LockMode): void;
  /** An acquisition has waited longer than `slowAcquireMs` (once per acquisition call). */
  slowAcquisition(mode: LockMode): void;
}

export const noopShardLockHooks: ShardLockHooks = {
  acquired: () => {},
  writeLocksHeld: () => {},
  timedOut: () => {},
  aborted: () => {},
  forcedRelease: () => {},
  slowAcquisition: () => {},
};

export interface ShardLockOptions {
  /** Shard IDs are 0 .. numShards-1. Default 8192 (upstream's default). */
  numShards?: number;
  logger?: Logger;
  clock?: Clock;
  hooks?: ShardLockHooks;
  /** A holder past this is force-released with an error log. Default 60 s; Infinity disables. */
  maxHoldMs?: number;
  /** Acquisitions queued longer than this log a warning. Default 1 s; Infinity disables. */
  slowAcquireMs?: number;
  /** Timeout for acquisitions that give none. Default Infinity (max hold time still bounds every wait). */
  defaultTimeoutMs?: number;
  /** Length of the window behind `stats().hotShards`. Default 60 s. */
  hotSpotWindowMs?: number;
}

export interface HeldLockInfo {
  readonly shardId: number;
  readonly mode: LockMode;
  readonly heldMs: number;
  readonly label: string | undefined;
}

export interface ContendedShardInfo {
  readonly shardId: number;
  readonly readers: number;
  readonly writer: HeldLockInfo | null;
  readonly waiting: number;
  readonly oldestWaitMs: number;
}

export interface ShardLockStats {
  readonly readLocksHeld: number;
  readonly writeLocksHeld: number;
  readonly waiting: number;
  /** Shards with an entry (held or waited for). */
  readonly activeShards: number;
  readonly acquisitions: { readonly read: number; readonly write: number };
  readonly timeouts: number;
  readonly aborts: number;
  readonly forcedReleases: number;
  readonly slowAcquisitions: number;
  /** The longest-held locks, oldest first. */
  readonly longestHeld: readonly HeldLockInfo[];
  /** Shards with waiters right now, longest wait first. */
  readonly contended: readonly ContendedShardInfo[];
  /** Most waited-for shards over the recent window (one to two `hotSpotWindowMs`). */
  readonly hotShards: readonly HotShard[];
}
