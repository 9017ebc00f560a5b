/**
 * The shard lock's state and mechanics (ShardLock in shardLock.ts is its public face): per shard an entry with its
 * holders and one FIFO queue of waiters, the holders in grant order for the max-hold timer, the waiters not yet
 * warned about for the slow-acquisition timer, and the counters behind the stats.
 */
import type { Clock } from '../core/clock.js';
import { AbortedError, InvalidArgumentError, LockTimeoutError } from '../core/errors.js';
import type { Logger } from '../core/log/logger.js';
import { DeadlineList, MAX_TIMER_MS, type DeadlineNode } from './deadlineList.js';
import type { HotSpotWindow } from './lockHotSpots.js';
import type { HeldLockInfo, LockMode, ShardLockHandle, ShardLockHooks } from './shardLockTypes.js';

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

export class Holder implements ShardLockHandle, DeadlineNode<Holder> {
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

export class GroupHandle implements ShardLockHandle {
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
export class Attempt {
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
  /** Grows when the shard count does (see grow). */
  numShards: number;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly hooks: ShardLockHooks;
  readonly maxHoldMs: number;
  readonly slowAcquireMs: number;
}

/** The lock's state and mechanics; ShardLock is its public face. */
export class Table {
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

  /** More shard IDs become valid (a split started): the slot table grows; it never shrinks (idle slots cost a pointer). */
  grow(numShards: number): void {
    if (numShards <= this.cfg.numShards) return;
    for (let id = this.cfg.numShards; id < numShards; id++) this.slots.push(undefined);
    this.cfg.numShards = numShards;
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

export function holderInfo(h: Holder, now: number): HeldLockInfo {
  return { shardId: h.entry.shardId, mode: h.mode, heldMs: now - h.acquiredAt, label: h.label };
}
