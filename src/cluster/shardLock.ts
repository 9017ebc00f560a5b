/**
 * Per-shard, writer-preferring async read/write lock, with upstream's semantics (many readers or one writer), except
 * that fixed-shard objects (`shard#N/x`) take it too: only fixed-node objects are exempt.
 *
 * Calls and creations hold a shard's read lock for their whole run; claim, eviction and release hold write locks,
 * several at once in ascending shard order so that two multi-shard writers can never deadlock.
 *
 * Fairness: each shard has one FIFO queue. A waiting writer blocks readers that arrive after it (no writer
 * starvation), and the run of readers queued right behind a writer is admitted together when it releases.
 * Memory: a shard has an entry only while someone holds or waits for it (waiters count, as upstream's keylock);
 * entries hang off a fixed slot table of `numShards` pointers, which is cheaper than a Map's set and delete churn.
 * Cost: an uncontended acquisition is synchronous (`tryAcquire*`, which `acquire*` tries first) and allocates one
 * handle. Max hold times and slow warnings each share one timer for the whole lock (DeadlineList); only a queued
 * acquisition with a finite deadline has a timer of its own.
 */
import { systemClock } from '../core/clock.js';
import { InvalidArgumentError, LockTimeoutError } from '../core/errors.js';
import { nullLogger } from '../core/log/logger.js';
import { HotSpotWindow } from './lockHotSpots.js';
import { Attempt, GroupHandle, type Holder, holderInfo, Table } from './shardLockTable.js';
import {
  type AcquireOptions,
  type ContendedShardInfo,
  type HeldLockInfo,
  type LockMode,
  noopShardLockHooks,
  type ShardLockHandle,
  type ShardLockOptions,
  type ShardLockStats,
} from './shardLockTypes.js';

export * from './shardLockTypes.js';

function checkDuration(name: string, ms: number | undefined): void {
  if (ms !== undefined && !(ms >= 0)) throw new InvalidArgumentError(`shard lock: ${name} must be >= 0, got ${ms}`);
}

export class ShardLock {
  private readonly table: Table;
  private readonly defaultTimeoutMs: number;

  constructor(options: ShardLockOptions = {}) {
    const numShards = options.numShards ?? 8192;
    if (numShards >>> 0 !== numShards || numShards === 0) {
      throw new InvalidArgumentError(`shard lock: numShards must be a positive integer, got ${numShards}`);
    }
    checkDuration('maxHoldMs', options.maxHoldMs);
    checkDuration('slowAcquireMs', options.slowAcquireMs);
    checkDuration('defaultTimeoutMs', options.defaultTimeoutMs);
    checkDuration('hotSpotWindowMs', options.hotSpotWindowMs);
    const clock = options.clock ?? systemClock;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? Infinity;
    this.table = new Table(
      {
        numShards,
        logger: options.logger ?? nullLogger,
        clock,
        hooks: options.hooks ?? noopShardLockHooks,
        maxHoldMs: options.maxHoldMs ?? 60_000,
        slowAcquireMs: options.slowAcquireMs ?? 1_000,
      },
      new HotSpotWindow(options.hotSpotWindowMs ?? 60_000, clock.monotonic()),
    );
  }

  /** The read lock of `shardId` if it is free right now (no writer holds or waits), else null. Synchronous. */
  tryAcquireRead(shardId: number, label?: string): ShardLockHandle | null {
    this.table.checkShardId(shardId);
    return this.table.tryAcquire(shardId, 'read', label);
  }

  /** The write lock of `shardId` if nobody holds or waits for it right now, else null. Synchronous. */
  tryAcquireWrite(shardId: number, label?: string): ShardLockHandle | null {
    this.table.checkShardId(shardId);
    return this.table.tryAcquire(shardId, 'write', label);
  }

  /** Makes shard IDs below `numShards` valid (the shard count grew); lower counts change nothing. */
  grow(numShards: number): void {
    if (numShards >>> 0 !== numShards) throw new InvalidArgumentError(`shard lock: numShards must be a positive integer, got ${numShards}`);
    this.table.grow(numShards);
  }

  acquireRead(shardId: number, options?: AcquireOptions): Promise<ShardLockHandle> {
    return this.acquire(shardId, 'read', options);
  }

  acquireWrite(shardId: number, options?: AcquireOptions): Promise<ShardLockHandle> {
    return this.acquire(shardId, 'write', options);
  }

  /**
   * Write-locks every shard of `shardIds` (duplicates ignored) in ascending order, so that concurrent multi-shard
   * writers cannot deadlock. The deadline and signal cover the whole call; on failure (timeout, abort, or one of the
   * shards taken first force-released during a long wait) the locks already taken are released. The handle releases
   * them all; its `held` turns false, and its signal aborts, as soon as any one is force-released.
   */
  acquireWriteMany(shardIds: Iterable<number>, options?: AcquireOptions): Promise<ShardLockHandle> {
    const ids = [...new Set(shardIds)].sort((a, b) => a - b);
    try {
      for (const id of ids) this.table.checkShardId(id);
      this.checkOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(this.table.aborted('write', signal));
    const holders: Holder[] = [];
    for (const id of ids) {
      const h = this.table.tryAcquire(id, 'write', options?.label);
      if (h === null) return this.acquireRest(ids, holders, this.attempt(ids, options));
      holders.push(h);
    }
    return Promise.resolve(new GroupHandle(holders));
  }

  stats(top = 10): ShardLockStats {
    const t = this.table;
    const now = t.cfg.clock.monotonic();
    const longestHeld: HeldLockInfo[] = [];
    for (let h = t.holders.first; h !== null && longestHeld.length < top; h = h.later) {
      longestHeld.push(holderInfo(h, now));
    }
    const contended: ContendedShardInfo[] = [];
    for (const e of t.slots) {
      if (e === undefined || e.head === null) continue;
      contended.push({
        shardId: e.shardId,
        readers: e.readers,
        writer: e.writer === null ? null : holderInfo(e.writer, now),
        waiting: e.waiting,
        oldestWaitMs: now - e.head.enqueuedAt,
      });
    }
    contended.sort((a, b) => b.oldestWaitMs - a.oldestWaitMs || a.shardId - b.shardId);
    return {
      readLocksHeld: t.readLocksHeld,
      writeLocksHeld: t.writeLocksHeld,
      waiting: t.waiting,
      activeShards: t.activeShards,
      acquisitions: { read: t.readAcquisitions, write: t.writeAcquisitions },
      timeouts: t.timeouts,
      aborts: t.aborts,
      forcedReleases: t.forcedReleases,
      slowAcquisitions: t.slowAcquisitions,
      longestHeld,
      contended: contended.slice(0, top),
      hotShards: t.hot.top(top, now),
    };
  }

  private acquire(shardId: number, mode: LockMode, options: AcquireOptions | undefined): Promise<ShardLockHandle> {
    try {
      this.table.checkShardId(shardId);
      this.checkOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(this.table.aborted(mode, signal));
    const h = this.table.tryAcquire(shardId, mode, options?.label);
    if (h !== null) return Promise.resolve(h);
    const attempt = this.attempt([shardId], options);
    return this.table.wait(shardId, mode, attempt, attempt.startedAt);
  }

  private async acquireRest(ids: number[], holders: Holder[], attempt: Attempt): Promise<ShardLockHandle> {
    try {
      for (let i = holders.length; i < ids.length; i++) {
        const id = ids[i]!;
        if (attempt.signal?.aborted) throw this.table.aborted('write', attempt.signal);
        const h = this.table.tryAcquire(id, 'write', attempt.label);
        if (h !== null) {
          holders.push(h);
          continue;
        }
        holders.push(await this.table.wait(id, 'write', attempt, this.table.cfg.clock.monotonic()));
        // A long wait can outlast the max hold time of the shards taken first: a handle must hold all it names.
        const lost = holders.find((m) => !m.held);
        if (lost !== undefined) {
          const lostId = lost.entry.shardId;
          throw new LockTimeoutError(
            `write lock of shard ${lostId} was force-released while acquiring shards ${ids.join(',')}`,
            lostId,
            'write',
          );
        }
      }
    } catch (err) {
      for (const h of holders) h.release();
      throw err;
    }
    return new GroupHandle(holders);
  }

  private attempt(shardIds: readonly number[], options: AcquireOptions | undefined): Attempt {
    const now = this.table.cfg.clock.monotonic();
    const deadline = Math.min(now + (options?.timeoutMs ?? this.defaultTimeoutMs), options?.deadline ?? Infinity);
    return new Attempt(shardIds, now, deadline, options?.signal, options?.label);
  }

  private checkOptions(options: AcquireOptions | undefined): void {
    if (options === undefined) return;
    checkDuration('timeoutMs', options.timeoutMs);
    if (options.deadline !== undefined && Number.isNaN(options.deadline)) {
      throw new InvalidArgumentError('shard lock: deadline is NaN');
    }
  }
}
