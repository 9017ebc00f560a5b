/**
 * Per-shard, writer-preferring async read/write lock (reference core 6.1-6.2, defects 9.1 and 9.18).
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
import { systemClock, type Clock } from '../core/clock.js';
import { AbortedError, InvalidArgumentError, LockTimeoutError } from '../core/errors.js';
import { nullLogger, type Logger } from '../core/log/logger.js';
import { DeadlineList, MAX_TIMER_MS, type DeadlineNode } from './deadlineList.js';
import { HotSpotWindow, type HotShard } from './lockHotSpots.js';

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

const HELD = 0;
const RELEASED = 1;
const FORCED = 2;
type HolderState = typeof HELD | typeof RELEASED | typeof FORCED;

class Entry {
  readers = 0;
  writer: Holder | null = null;
  head: Waiter | null = null;
  tail: Waiter | null = null;
  waiting = 0;

  constructor(readonly shardId: number) {}

  get idle(): boolean {
    return this.readers === 0 && this.writer === null && this.head === null;
  }
}

class Holder implements ShardLockHandle, DeadlineNode<Holder> {
  state: HolderState = HELD;
  group: GroupHandle | null = null;
  /** Max-hold deadline and links of the table's hold list (grant order). */
  due: number;
  earlier: Holder | null = null;
  later: Holder | null = null;
  listed = false;
  private lost: AbortController | null = null;
  private lostReason: LockTimeoutError | null = null;

  constructor(
    private readonly table: Table,
    readonly entry: Entry,
    readonly mode: LockMode,
    readonly acquiredAt: number,
    readonly label: string | undefined,
  ) {
    this.due = acquiredAt + table.cfg.maxHoldMs;
  }

  get held(): boolean {
    return this.state === HELD;
  }

  // Created on first use so that holders who never ask pay nothing.
  get signal(): AbortSignal {
    if (this.lost === null) {
      this.lost = new AbortController();
      if (this.lostReason !== null) this.lost.abort(this.lostReason);
    }
    return this.lost.signal;
  }

  release(): void {
    this.table.release(this, RELEASED);
  }

  lose(reason: LockTimeoutError): void {
    this.lostReason = reason;
    this.lost?.abort(reason);
    this.group?.lose(reason);
  }
}

class GroupHandle implements ShardLockHandle {
  private lost: AbortController | null = null;
  private lostReason: LockTimeoutError | null = null;

  constructor(private readonly members: readonly Holder[]) {
    for (const m of members) m.group = this;
  }

  get held(): boolean {
    return this.members.every((m) => m.held);
  }

  get signal(): AbortSignal {
    if (this.lost === null) {
      this.lost = new AbortController();
      if (this.lostReason !== null) this.lost.abort(this.lostReason);
    }
    return this.lost.signal;
  }

  release(): void {
    for (const m of this.members) m.release();
  }

  lose(reason: LockTimeoutError): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    this.lost?.abort(reason);
  }
}

/** One acquisition call on the slow path; a multi-shard write shares it across its shards. */
class Attempt {
  slowWarned = false;

  constructor(
    readonly shardIds: readonly number[],
    readonly startedAt: number,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    readonly label: string | undefined,
  ) {}
}

class Waiter implements DeadlineNode<Waiter> {
  /** Links of the shard's FIFO queue. */
  prev: Waiter | null = null;
  next: Waiter | null = null;
  /** Slow-warning time and links of the table's slow list. */
  due: number;
  earlier: Waiter | null = null;
  later: Waiter | null = null;
  listed = false;
  /** Only acquisitions with a finite deadline have a timer of their own. */
  timer: NodeJS.Timeout | null = null;
  onAbort: (() => void) | null = null;

  constructor(
    readonly attempt: Attempt,
    readonly entry: Entry,
    readonly mode: LockMode,
    readonly enqueuedAt: number,
    readonly resolve: (h: Holder) => void,
    readonly reject: (err: unknown) => void,
    slowAcquireMs: number,
  ) {
    this.due = attempt.startedAt + slowAcquireMs;
  }
}

interface Config {
  readonly numShards: number;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly hooks: ShardLockHooks;
  readonly maxHoldMs: number;
  readonly slowAcquireMs: number;
}

/** The lock's state and mechanics; ShardLock is its public face. */
class Table {
  /** Entry per shard ID, undefined while the shard is idle. */
  readonly slots: (Entry | undefined)[];
  activeShards = 0;
  /** Every holder, in grant order (which is max-hold order: one max hold time for all). */
  readonly holders: DeadlineList<Holder>;
  /** Waiters that have not warned yet, by slow-warning time. */
  private readonly slow: DeadlineList<Waiter>;

  readLocksHeld = 0;
  writeLocksHeld = 0;
  waiting = 0;
  readAcquisitions = 0;
  writeAcquisitions = 0;
  timeouts = 0;
  aborts = 0;
  forcedReleases = 0;
  slowAcquisitions = 0;

  constructor(
    readonly cfg: Config,
    readonly hot: HotSpotWindow,
  ) {
    this.slots = new Array<Entry | undefined>(cfg.numShards).fill(undefined);
    this.holders = new DeadlineList<Holder>(cfg.clock, (h, now) => this.force(h, now));
    this.slow = new DeadlineList<Waiter>(cfg.clock, (w, now) => this.warnSlow(w, now));
  }

  checkShardId(shardId: number): void {
    // `>>> 0` keeps only non-negative integers below 2^32 equal to themselves (and turns NaN into 0).
    if (shardId >>> 0 !== shardId || shardId >= this.cfg.numShards) {
      throw new InvalidArgumentError(`shard lock: invalid shard ID ${String(shardId)} (0..${this.cfg.numShards - 1})`);
    }
  }

  tryAcquire(shardId: number, mode: LockMode, label: string | undefined): Holder | null {
    let e = this.slots[shardId];
    if (e === undefined) {
      e = new Entry(shardId);
      this.slots[shardId] = e;
      this.activeShards++;
    } else if (e.writer !== null || e.head !== null || (mode === 'write' && e.readers > 0)) {
      return null;
    }
    return this.grant(e, mode, label, 0, this.cfg.clock.monotonic());
  }

  /** Queues for the lock of `shardId`; the caller has just seen tryAcquire fail, so the entry exists. */
  wait(shardId: number, mode: LockMode, attempt: Attempt, now: number): Promise<Holder> {
    const e = this.slots[shardId]!;
    const signal = attempt.signal;
    if (signal?.aborted) return Promise.reject(this.aborted(mode, signal));
    if (attempt.deadline <= now) return Promise.reject(this.timedOut(e, mode, attempt, now));
    return new Promise<Holder>((resolve, reject) => {
      const w = new Waiter(attempt, e, mode, now, resolve, reject, this.cfg.slowAcquireMs);
      w.prev = e.tail;
      if (e.tail === null) e.head = w;
      else e.tail.next = w;
      e.tail = w;
      e.waiting++;
      this.waiting++;
      if (!attempt.slowWarned) this.slow.add(w);
      if (signal !== undefined) {
        w.onAbort = () => this.cancel(w, this.aborted(mode, signal));
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      if (attempt.deadline !== Infinity) this.armDeadline(w, now);
    });
  }

  release(h: Holder, to: typeof RELEASED | typeof FORCED): void {
    if (h.state !== HELD) return;
    h.state = to;
    this.holders.remove(h);
    const e = h.entry;
    if (h.mode === 'write') {
      e.writer = null;
      this.writeLocksHeld--;
      this.cfg.hooks.writeLocksHeld(this.writeLocksHeld);
    } else {
      e.readers--;
      this.readLocksHeld--;
    }
    if (e.head !== null) this.drain(e);
    else if (e.idle) this.forget(e);
  }

  private forget(e: Entry): void {
    this.slots[e.shardId] = undefined;
    this.activeShards--;
  }

  private grant(e: Entry, mode: LockMode, label: string | undefined, waitMs: number, now: number): Holder {
    const h = new Holder(this, e, mode, now, label);
    this.holders.add(h);
    if (mode === 'write') {
      e.writer = h;
      this.writeLocksHeld++;
      this.writeAcquisitions++;
      this.cfg.hooks.writeLocksHeld(this.writeLocksHeld);
    } else {
      e.readers++;
      this.readLocksHeld++;
      this.readAcquisitions++;
    }
    this.cfg.hooks.acquired(mode, waitMs);
    return h;
  }

  /** Grants from the head of the queue: one writer, or the whole run of readers at the head. */
  private drain(e: Entry): void {
    let now = -1;
    for (let w = e.head; w !== null; w = e.head) {
      if (e.writer !== null || (w.mode === 'write' && e.readers > 0)) return;
      this.dequeue(w);
      if (now < 0) now = this.cfg.clock.monotonic();
      const waitMs = now - w.enqueuedAt;
      this.hot.recordWait(e.shardId, waitMs, now);
      w.resolve(this.grant(e, w.mode, w.attempt.label, waitMs, now));
    }
  }

  private dequeue(w: Waiter): void {
    const e = w.entry;
    if (w.prev === null) e.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) e.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    e.waiting--;
    this.waiting--;
    this.slow.remove(w);
    if (w.timer !== null) clearTimeout(w.timer);
    w.timer = null;
    if (w.onAbort !== null) w.attempt.signal!.removeEventListener('abort', w.onAbort);
    w.onAbort = null;
  }

  /** Takes a waiter out of its queue for good; a removed writer may unblock the readers queued behind it. */
  private cancel(w: Waiter, err: AbortedError | LockTimeoutError): void {
    const e = w.entry;
    this.dequeue(w);
    if (e.head !== null) this.drain(e);
    else if (e.idle) this.forget(e);
    w.reject(err);
  }

  private armDeadline(w: Waiter, now: number): void {
    w.timer = setTimeout(onDeadline, Math.min(Math.max(0, w.attempt.deadline - now), MAX_TIMER_MS), this, w);
  }

  deadlineTimerFired(w: Waiter): void {
    w.timer = null;
    const now = this.cfg.clock.monotonic();
    // A deadline beyond one timer's reach re-arms; a normal one is trusted, even if it fired a hair early by the clock.
    if (w.attempt.deadline - w.enqueuedAt > MAX_TIMER_MS && w.attempt.deadline > now) this.armDeadline(w, now);
    else this.cancel(w, this.timedOut(w.entry, w.mode, w.attempt, now));
  }

  private warnSlow(w: Waiter, now: number): void {
    const a = w.attempt;
    // One that times out at this very moment reports a timeout instead.
    if (a.deadline <= now) return;
    a.slowWarned = true;
    this.slowAcquisitions++;
    this.cfg.hooks.slowAcquisition(w.mode);
    const e = w.entry;
    this.cfg.logger.warn('slow shard lock acquisition', {
      shardId: e.shardId,
      mode: w.mode,
      waitedMs: now - a.startedAt,
      thresholdMs: this.cfg.slowAcquireMs,
      label: a.label,
      shardIds: a.shardIds.length > 1 ? a.shardIds : undefined,
      readers: e.readers,
      writer: e.writer === null ? undefined : holderInfo(e.writer, now),
      queued: e.waiting,
    });
  }

  /** Counts a timeout and returns the error for it. */
  private timedOut(e: Entry, mode: LockMode, a: Attempt, now: number): LockTimeoutError {
    this.timeouts++;
    this.hot.recordTimeout(e.shardId, now);
    this.cfg.hooks.timedOut(mode);
    const of = a.shardIds.length > 1 ? ` (acquiring shards ${a.shardIds.join(',')})` : '';
    return new LockTimeoutError(
      `timed out after ${Math.round(now - a.startedAt)} ms waiting for the ${mode} lock of shard ${e.shardId}${of}`,
      e.shardId,
      mode,
    );
  }

  /** Counts an abort and returns the error for it. */
  aborted(mode: LockMode, signal: AbortSignal): AbortedError {
    this.aborts++;
    this.cfg.hooks.aborted(mode);
    return new AbortedError('shard lock acquisition aborted', { cause: signal.reason });
  }

  private force(h: Holder, now: number): void {
    this.release(h, FORCED);
    this.forcedReleases++;
    const heldMs = now - h.acquiredAt;
    const shardId = h.entry.shardId;
    const reason = new LockTimeoutError(
      `${h.mode} lock of shard ${shardId} force-released after being held ${Math.round(heldMs)} ms`,
      shardId,
      h.mode,
    );
    this.cfg.logger.error('shard lock force-released after the maximum hold time', {
      shardId,
      mode: h.mode,
      heldMs,
      maxHoldMs: this.cfg.maxHoldMs,
      label: h.label,
    });
    this.cfg.hooks.forcedRelease(h.mode);
    h.lose(reason);
  }
}

function onDeadline(table: Table, w: Waiter): void {
  table.deadlineTimerFired(w);
}

function holderInfo(h: Holder, now: number): HeldLockInfo {
  return { shardId: h.entry.shardId, mode: h.mode, heldMs: now - h.acquiredAt, label: h.label };
}

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
