import { vi } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import type { LockMode, ShardLockHooks } from '../../../src/cluster/shardLock.js';

/** A clock on the (faked) Date, so `vi.advanceTimersByTimeAsync` moves it with the timers. */
export const fakeClock: Clock = { now: () => Date.now(), monotonic: () => Date.now() };

export type Settled<T> =
  | { readonly state: 'pending' }
  | { readonly state: 'fulfilled'; readonly value: T }
  | { readonly state: 'rejected'; readonly error: unknown };

/** Observes a promise without awaiting it, so a test can assert that it is still pending. */
export function track<T>(p: Promise<T>): { readonly current: Settled<T>; value(): T; error(): unknown } {
  let current: Settled<T> = { state: 'pending' };
  p.then(
    (value) => (current = { state: 'fulfilled', value }),
    (error: unknown) => (current = { state: 'rejected', error }),
  );
  return {
    get current() {
      return current;
    },
    value() {
      if (current.state !== 'fulfilled') throw new Error(`expected fulfilled, is ${current.state}`);
      return current.value;
    },
    error() {
      if (current.state !== 'rejected') throw new Error(`expected rejected, is ${current.state}`);
      return current.error;
    },
  };
}

/** Runs pending microtasks (and timers due now). */
export async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

export interface RecordedHooks extends ShardLockHooks {
  readonly calls: {
    acquired: [LockMode, number][];
    gauge: number[];
    timedOut: LockMode[];
    aborted: LockMode[];
    forced: LockMode[];
    slow: LockMode[];
  };
}

export function recordingHooks(): RecordedHooks {
  const calls: RecordedHooks['calls'] = { acquired: [], gauge: [], timedOut: [], aborted: [], forced: [], slow: [] };
  return {
    calls,
    acquired: (mode, waitMs) => calls.acquired.push([mode, waitMs]),
    writeLocksHeld: (n) => calls.gauge.push(n),
    timedOut: (mode) => calls.timedOut.push(mode),
    aborted: (mode) => calls.aborted.push(mode),
    forcedRelease: (mode) => calls.forced.push(mode),
    slowAcquisition: (mode) => calls.slow.push(mode),
  };
}
