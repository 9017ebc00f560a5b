import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ShardLock, type ShardLockHandle, type ShardLockOptions } from '../../../src/cluster/shardLock.js';
import { AbortedError, InvalidArgumentError, LockTimeoutError } from '../../../src/core/errors.js';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { fakeClock, flush, recordingHooks, track } from './shardLockHelpers.js';

let sink: MemorySink;
let hooks: ReturnType<typeof recordingHooks>;

function newLock(options: ShardLockOptions = {}): ShardLock {
  return new ShardLock({ clock: fakeClock, logger: createLogger(sink, 'debug'), hooks, ...options });
}

function logs(msg: string) {
  return sink.records.filter((r) => r.msg === msg);
}

beforeEach(() => {
  vi.useFakeTimers();
  sink = new MemorySink();
  hooks = recordingHooks();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('uncontended', () => {
  it('grants synchronously, shares reads, and forgets idle shards', () => {
    const lock = newLock();
    const r1 = lock.tryAcquireRead(7)!;
    const r2 = lock.tryAcquireRead(7)!;
    expect(r1.held && r2.held).toBe(true);
    expect(lock.tryAcquireWrite(7)).toBeNull();
    expect(lock.stats()).toMatchObject({ readLocksHeld: 2, activeShards: 1 });
    r1.release();
    r2.release();
    expect(lock.stats()).toMatchObject({ readLocksHeld: 0, activeShards: 0 });
    const w = lock.tryAcquireWrite(7)!;
    expect(lock.tryAcquireRead(7)).toBeNull();
    w.release();
    expect(lock.stats().activeShards).toBe(0);
    expect(hooks.calls.acquired).toEqual([
      ['read', 0],
      ['read', 0],
      ['write', 0],
    ]);
    expect(hooks.calls.gauge).toEqual([1, 0]);
  });

  it('uses no timer per acquisition: one shared max-hold sweeper at most', async () => {
    const lock = newLock();
    for (let i = 0; i < 100; i++) (await lock.acquireRead(i)).release();
    const held = [lock.tryAcquireWrite(1)!, lock.tryAcquireWrite(2)!, await lock.acquireWrite(3)];
    expect(vi.getTimerCount()).toBe(1);
    for (const h of held) h.release();
    expect(vi.getTimerCount()).toBe(1);
    expect(newLock({ maxHoldMs: Infinity }).tryAcquireWrite(1)).not.toBeNull();
    expect(vi.getTimerCount()).toBe(1);
  });

  it('acquire* resolves at once when free and keeps shards independent', async () => {
    const lock = newLock();
    const w1 = await lock.acquireWrite(1);
    const w2 = await lock.acquireWrite(2);
    expect(lock.stats().writeLocksHeld).toBe(2);
    w1.release();
    w2.release();
    expect(lock.stats().activeShards).toBe(0);
  });

  it('rejects invalid shard IDs and options with InvalidArgumentError', async () => {
    const lock = newLock();
    expect(() => lock.tryAcquireRead(-1)).toThrow(InvalidArgumentError);
    expect(() => lock.tryAcquireWrite(1.5)).toThrow(InvalidArgumentError);
    expect(() => lock.tryAcquireWrite(8192)).toThrow(/0\.\.8191/);
    expect(newLock({ numShards: 64 }).tryAcquireRead(63)).not.toBeNull();
    expect(() => newLock({ numShards: 64 }).tryAcquireRead(64)).toThrow(InvalidArgumentError);
    expect(() => newLock({ numShards: 0 })).toThrow(InvalidArgumentError);
    await expect(lock.acquireRead(Number.NaN)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lock.acquireWrite(1, { timeoutMs: -5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lock.acquireWriteMany([1, -2])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => newLock({ maxHoldMs: Number.NaN })).toThrow(InvalidArgumentError);
    expect(lock.stats().activeShards).toBe(0);
  });
});

describe('fairness', () => {
  it('a waiting writer blocks new readers (writer preference)', async () => {
    const lock = newLock();
    const r1 = lock.tryAcquireRead(3)!;
    const w = track(lock.acquireWrite(3));
    await flush();
    expect(w.current.state).toBe('pending');
    expect(lock.tryAcquireRead(3)).toBeNull();
    const r2 = track(lock.acquireRead(3));
    await flush();
    expect(r2.current.state).toBe('pending');
    r1.release();
    await flush();
    expect(w.value().held).toBe(true);
    expect(r2.current.state).toBe('pending');
    w.value().release();
    await flush();
    expect(r2.value().held).toBe(true);
  });

  it('admits the readers queued behind a writer together; later ones wait for the next writer', async () => {
    const lock = newLock();
    const r0 = lock.tryAcquireRead(1)!;
    const w1 = track(lock.acquireWrite(1));
    const readers = [track(lock.acquireRead(1)), track(lock.acquireRead(1)), track(lock.acquireRead(1))];
    const w2 = track(lock.acquireWrite(1));
    const late = track(lock.acquireRead(1));
    r0.release();
    await flush();
    expect(w1.current.state).toBe('fulfilled');
    expect(readers.map((r) => r.current.state)).toEqual(['pending', 'pending', 'pending']);
    w1.value().release();
    await flush();
    expect(readers.map((r) => r.current.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(w2.current.state).toBe('pending');
    expect(lock.stats()).toMatchObject({ readLocksHeld: 3, waiting: 2 });
    for (const r of readers) r.value().release();
    await flush();
    expect(w2.current.state).toBe('fulfilled');
    expect(late.current.state).toBe('pending');
    w2.value().release();
    await flush();
    expect(late.current.state).toBe('fulfilled');
    late.value().release();
    expect(lock.stats()).toMatchObject({ activeShards: 0, waiting: 0, readLocksHeld: 0, writeLocksHeld: 0 });
  });

  it('grants writers in arrival order', async () => {
    const lock = newLock();
    const first = lock.tryAcquireWrite(9)!;
    const order: number[] = [];
    const waits = [1, 2, 3, 4].map((i) =>
      lock.acquireWrite(9).then((h) => {
        order.push(i);
        return h;
      }),
    );
    first.release();
    for (const p of waits) (await p).release();
    expect(order).toEqual([1, 2, 3, 4]);
  });
});

describe('release', () => {
  it('is idempotent for readers: a double release does not let a writer in early', async () => {
    const lock = newLock();
    const r1 = lock.tryAcquireRead(2)!;
    const r2 = lock.tryAcquireRead(2)!;
    const w = track(lock.acquireWrite(2));
    r1.release();
    r1.release();
    await flush();
    expect(w.current.state).toBe('pending');
    expect(lock.stats().readLocksHeld).toBe(1);
    expect(r1.held).toBe(false);
    r2.release();
    await flush();
    expect(w.current.state).toBe('fulfilled');
  });

  it('is idempotent for writers: a stale release does not free the next holder', async () => {
    const lock = newLock();
    const w1 = lock.tryAcquireWrite(2)!;
    const w2 = track(lock.acquireWrite(2));
    const w3 = track(lock.acquireWrite(2));
    w1.release();
    await flush();
    expect(w2.current.state).toBe('fulfilled');
    w1.release();
    await flush();
    expect(w3.current.state).toBe('pending');
    expect(hooks.calls.gauge).toEqual([1, 0, 1]);
    w2.value().release();
    await flush();
    w3.value().release();
    expect(lock.stats()).toMatchObject({ activeShards: 0, writeLocksHeld: 0 });
  });
});

describe('timeouts', () => {
  it('rejects with a retriable LockTimeoutError exactly at the deadline, leaving no waiter behind', async () => {
    const lock = newLock();
    const w = lock.tryAcquireWrite(4)!;
    const r = track(lock.acquireRead(4, { timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(99);
    expect(r.current.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    const err = r.error();
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'lock_timeout', retriable: true, shardId: 4, mode: 'read' });
    expect(lock.stats()).toMatchObject({ waiting: 0, timeouts: 1 });
    expect(hooks.calls.timedOut).toEqual(['read']);
    w.release();
    expect(lock.stats().activeShards).toBe(0);
  });

  it('a timed-out writer stops blocking the readers queued behind it (no ghost)', async () => {
    const lock = newLock();
    const r0 = lock.tryAcquireRead(5)!;
    const w = track(lock.acquireWrite(5, { timeoutMs: 50 }));
    const r1 = track(lock.acquireRead(5));
    await vi.advanceTimersByTimeAsync(50);
    expect(w.error()).toBeInstanceOf(LockTimeoutError);
    expect(r1.value().held).toBe(true);
    expect(lock.tryAcquireRead(5)).not.toBeNull();
    r0.release();
  });

  it('honours an absolute deadline, the earlier of deadline and timeoutMs, and a lock-wide default', async () => {
    const lock = newLock({ defaultTimeoutMs: 300 });
    const w = lock.tryAcquireWrite(6)!;
    const byDeadline = track(lock.acquireRead(6, { deadline: Date.now() + 30, timeoutMs: 1000 }));
    const byTimeout = track(lock.acquireRead(6, { deadline: Date.now() + 1000, timeoutMs: 60 }));
    const byDefault = track(lock.acquireRead(6));
    await vi.advanceTimersByTimeAsync(30);
    expect(byDeadline.current.state).toBe('rejected');
    expect(byTimeout.current.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(30);
    expect(byTimeout.current.state).toBe('rejected');
    await vi.advanceTimersByTimeAsync(239);
    expect(byDefault.current.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(byDefault.error()).toBeInstanceOf(LockTimeoutError);
    w.release();
  });

  it('a zero timeout succeeds when free and fails at once when not', async () => {
    const lock = newLock();
    const h = await lock.acquireWrite(8, { timeoutMs: 0 });
    await expect(lock.acquireWrite(8, { timeoutMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    h.release();
    expect(lock.stats()).toMatchObject({ activeShards: 0, timeouts: 1 });
  });
});

describe('abort', () => {
  it('rejects a queued acquisition with AbortedError carrying the reason, and unblocks those behind it', async () => {
    const lock = newLock();
    const r0 = lock.tryAcquireRead(1)!;
    const ac = new AbortController();
    const w = track(lock.acquireWrite(1, { signal: ac.signal }));
    const r1 = track(lock.acquireRead(1));
    await flush();
    ac.abort(new Error('client went away'));
    await flush();
    expect(w.error()).toBeInstanceOf(AbortedError);
    expect((w.error() as Error).cause).toEqual(new Error('client went away'));
    expect(r1.current.state).toBe('fulfilled');
    expect(hooks.calls.aborted).toEqual(['write']);
    r0.release();
    r1.value().release();
    expect(lock.stats()).toMatchObject({ activeShards: 0, waiting: 0, aborts: 1 });
  });

  it('rejects an already aborted signal without taking the lock', async () => {
    const lock = newLock();
    await expect(lock.acquireRead(1, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
    expect(lock.stats().activeShards).toBe(0);
  });

  it('an abort after the grant changes nothing', async () => {
    const lock = newLock();
    const w0 = lock.tryAcquireWrite(1)!;
    const ac = new AbortController();
    const p = lock.acquireWrite(1, { signal: ac.signal });
    w0.release();
    const h = await p;
    ac.abort();
    expect(h.held).toBe(true);
    expect(lock.stats().aborts).toBe(0);
    h.release();
  });
});

describe('maximum hold time', () => {
  it('force-releases a holder at the limit with an error log and a counter; its late release is a no-op', async () => {
    const lock = newLock({ maxHoldMs: 1000 });
    const w = lock.tryAcquireWrite(3, 'evict')!;
    const next = track(lock.acquireWrite(3));
    await vi.advanceTimersByTimeAsync(999);
    expect(w.held).toBe(true);
    expect(next.current.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(w.held).toBe(false);
    expect(w.signal.aborted).toBe(true);
    expect(w.signal.reason).toBeInstanceOf(LockTimeoutError);
    expect(next.value().held).toBe(true);
    expect(logs('shard lock force-released after the maximum hold time')).toEqual([
      expect.objectContaining({ level: 'error', shardId: 3, mode: 'write', heldMs: 1000, label: 'evict' }),
    ]);
    expect(hooks.calls.forced).toEqual(['write']);
    w.release();
    expect(next.value().held).toBe(true);
    expect(lock.stats()).toMatchObject({ writeLocksHeld: 1, forcedReleases: 1 });
    next.value().release();
  });

  it('aborts a signal taken before the forced release and forces each holder at its own limit', async () => {
    const lock = newLock({ maxHoldMs: 100 });
    const a = lock.tryAcquireRead(1)!;
    const signal = a.signal;
    await vi.advanceTimersByTimeAsync(10);
    const b = lock.tryAcquireRead(2)!;
    await vi.advanceTimersByTimeAsync(90);
    expect(signal.aborted).toBe(true);
    expect(b.held).toBe(true);
    await vi.advanceTimersByTimeAsync(9);
    expect(b.held).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(b.held).toBe(false);
    expect(lock.stats()).toMatchObject({ forcedReleases: 2, activeShards: 0 });
  });

  it('does not force holders that released in time, and keeps checking later ones', async () => {
    const lock = newLock({ maxHoldMs: 100 });
    const a = lock.tryAcquireWrite(1)!;
    await vi.advanceTimersByTimeAsync(5);
    a.release();
    const b = lock.tryAcquireWrite(1)!;
    await vi.advanceTimersByTimeAsync(99);
    expect(b.held).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(b.held).toBe(false);
    expect(hooks.calls.forced).toEqual(['write']);
  });

  it('is disabled by Infinity', async () => {
    const lock = newLock({ maxHoldMs: Infinity });
    const h = lock.tryAcquireWrite(1)!;
    await vi.advanceTimersByTimeAsync(10_000_000);
    expect(h.held).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('slow acquisition warning', () => {
  it('warns once, exactly when the wait reaches the threshold, with who holds the lock', async () => {
    const lock = newLock({ slowAcquireMs: 500, maxHoldMs: Infinity });
    const w = lock.tryAcquireWrite(2, 'claim')!;
    const r = track(lock.acquireRead(2, { label: 'call' }));
    await vi.advanceTimersByTimeAsync(499);
    expect(logs('slow shard lock acquisition')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(logs('slow shard lock acquisition')).toEqual([
      expect.objectContaining({
        level: 'warn',
        shardId: 2,
        mode: 'read',
        waitedMs: 500,
        label: 'call',
        writer: expect.objectContaining({ label: 'claim', heldMs: 500 }),
      }),
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    w.release();
    await flush();
    expect(r.current.state).toBe('fulfilled');
    expect(logs('slow shard lock acquisition')).toHaveLength(1);
    expect(lock.stats().slowAcquisitions).toBe(1);
    expect(hooks.calls.slow).toEqual(['read']);
    expect(hooks.calls.acquired.at(-1)).toEqual(['read', 5500]);
  });

  it('does not warn for an acquisition granted just before the threshold', async () => {
    const lock = newLock({ slowAcquireMs: 500 });
    const w = lock.tryAcquireWrite(2)!;
    const r = track(lock.acquireWrite(2));
    await vi.advanceTimersByTimeAsync(499);
    w.release();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.current.state).toBe('fulfilled');
    expect(lock.stats().slowAcquisitions).toBe(0);
    expect(sink.records).toHaveLength(0);
  });

  it('counts a timeout, not a slow acquisition, when both fall at the same instant', async () => {
    const lock = newLock({ slowAcquireMs: 100 });
    const w = lock.tryAcquireWrite(2)!;
    const r = track(lock.acquireWrite(2, { timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(100);
    expect(r.error()).toBeInstanceOf(LockTimeoutError);
    expect(lock.stats()).toMatchObject({ slowAcquisitions: 0, timeouts: 1 });
    w.release();
  });
});

describe('durations longer than one timer can wait (2^31 ms)', () => {
  it('neither fire early nor get lost', async () => {
    const lock = newLock({ slowAcquireMs: 3e9, maxHoldMs: 4e9 });
    const w = lock.tryAcquireWrite(1)!;
    const r = track(lock.acquireRead(1, { timeoutMs: 5e9 }));
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(lock.stats()).toMatchObject({ slowAcquisitions: 0, forcedReleases: 0, timeouts: 0 });
    await vi.advanceTimersByTimeAsync(3e9 - 2 ** 31);
    expect(lock.stats().slowAcquisitions).toBe(1);
    await vi.advanceTimersByTimeAsync(1e9 - 1);
    expect(w.held).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.held).toBe(false);
    expect(r.value().held).toBe(true);
    expect(lock.stats().timeouts).toBe(0);
  });
});

describe('acquireWriteMany', () => {
  it('dedupes and locks in ascending order, releasing all at once', async () => {
    const lock = newLock();
    const blocker = lock.tryAcquireWrite(3)!;
    const many = track(lock.acquireWriteMany([5, 3, 1, 5, 3]));
    await flush();
    expect(many.current.state).toBe('pending');
    expect(lock.tryAcquireRead(1)).toBeNull(); // taken before 3
    const r5 = lock.tryAcquireRead(5); // not yet taken: 3 comes first
    expect(r5).not.toBeNull();
    r5!.release();
    blocker.release();
    await flush();
    const h = many.value();
    expect(h.held).toBe(true);
    expect(lock.stats().writeLocksHeld).toBe(3);
    h.release();
    h.release();
    expect(lock.stats()).toMatchObject({ writeLocksHeld: 0, activeShards: 0 });
  });

  it('releases what it got when it times out part way', async () => {
    const lock = newLock();
    const blocker = lock.tryAcquireRead(3)!;
    const many = track(lock.acquireWriteMany([1, 3, 5], { timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(100);
    expect(many.error()).toMatchObject({ code: 'lock_timeout', shardId: 3, mode: 'write' });
    expect((many.error() as Error).message).toContain('shards 1,3,5');
    expect(lock.stats()).toMatchObject({ writeLocksHeld: 0, waiting: 0, activeShards: 1 });
    blocker.release();
    expect(lock.stats().activeShards).toBe(0);
  });

  it('releases what it got when aborted part way', async () => {
    const lock = newLock();
    const blocker = lock.tryAcquireWrite(2)!;
    const ac = new AbortController();
    const many = track(lock.acquireWriteMany([1, 2], { signal: ac.signal }));
    await flush();
    ac.abort();
    await flush();
    expect(many.error()).toBeInstanceOf(AbortedError);
    expect(lock.tryAcquireWrite(1)).not.toBeNull();
    blocker.release();
  });

  it('warns once per call even when it waits on several shards', async () => {
    const lock = newLock({ slowAcquireMs: 100 });
    const b1 = lock.tryAcquireWrite(1)!;
    const b2 = lock.tryAcquireWrite(2)!;
    const many = track(lock.acquireWriteMany([1, 2]));
    await vi.advanceTimersByTimeAsync(150);
    b1.release();
    await vi.advanceTimersByTimeAsync(150);
    b2.release();
    await flush();
    expect(many.value().held).toBe(true);
    expect(logs('slow shard lock acquisition')).toEqual([expect.objectContaining({ shardId: 1, shardIds: [1, 2] })]);
  });

  it('fails, releasing everything, when a shard taken first is force-released before the last one comes', async () => {
    const lock = newLock({ maxHoldMs: 100 });
    const w0 = lock.tryAcquireWrite(2)!;
    const w1 = track(lock.acquireWrite(2));
    const many = track(lock.acquireWriteMany([1, 2])); // takes 1 at t=0, queues behind w1 for 2
    await vi.advanceTimersByTimeAsync(50);
    w0.release(); // w1 holds 2 from t=50 and is forced at t=150, after shard 1 at t=100
    await vi.advanceTimersByTimeAsync(50);
    expect(w1.value().held).toBe(true);
    expect(many.current.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(50);
    expect(many.error()).toMatchObject({ code: 'lock_timeout', shardId: 1 });
    expect(lock.stats()).toMatchObject({ writeLocksHeld: 0, activeShards: 0, forcedReleases: 2, timeouts: 0 });
  });

  it('reports a forced member through held and signal', async () => {
    const lock = newLock({ maxHoldMs: 100 });
    const h = await lock.acquireWriteMany([4, 2]);
    const signal = h.signal;
    await vi.advanceTimersByTimeAsync(100);
    expect(h.held).toBe(false);
    expect(signal.aborted).toBe(true);
    h.release();
    expect(lock.stats()).toMatchObject({ writeLocksHeld: 0, forcedReleases: 2 });
  });

  it('accepts an empty list', async () => {
    const lock = newLock();
    const h = await lock.acquireWriteMany([]);
    expect(h.held).toBe(true);
    h.release();
    expect(lock.stats().activeShards).toBe(0);
  });
});

describe('stats', () => {
  it('shows the longest holders, the shards with waiters and the hot shards of the window', async () => {
    const lock = newLock({ hotSpotWindowMs: 1000, maxHoldMs: Infinity });
    const held: ShardLockHandle[] = [lock.tryAcquireWrite(10, 'evict')!];
    await vi.advanceTimersByTimeAsync(100);
    held.push(lock.tryAcquireRead(11)!);
    const waiting = [track(lock.acquireRead(10)), track(lock.acquireWrite(10))];
    await vi.advanceTimersByTimeAsync(50);
    const s = lock.stats();
    expect(s.longestHeld).toEqual([
      { shardId: 10, mode: 'write', heldMs: 150, label: 'evict' },
      { shardId: 11, mode: 'read', heldMs: 50, label: undefined },
    ]);
    expect(s.contended).toEqual([
      { shardId: 10, readers: 0, writer: s.longestHeld[0], waiting: 2, oldestWaitMs: 50 },
    ]);
    held[0]!.release();
    await flush();
    waiting[0]!.value().release();
    await flush();
    waiting[1]!.value().release();
    expect(lock.stats().hotShards).toEqual([{ shardId: 10, waits: 2, totalWaitMs: 100, maxWaitMs: 50, timeouts: 0 }]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(lock.stats().hotShards).toEqual([]);
    held[1]!.release();
  });
});
