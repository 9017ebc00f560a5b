import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ShardLock, type AcquireOptions, type ShardLockHandle } from '../../../src/cluster/shardLock.js';
import { AbortedError, LockTimeoutError } from '../../../src/core/errors.js';
import { prng } from './prng.js';
import { fakeClock } from './shardLockHelpers.js';

const SHARDS = 16;
const TASKS = 3000;
const START_WINDOW_MS = 400;
/** Far beyond what the workload needs: reaching it means some task can never finish. */
const DEADLOCK_AFTER_MS = 10_000;

/** Setimmediate is left real: one real turn of the event loop runs every continuation the fake timers released. */
const settle = () => new Promise<void>((r) => setImmediate(r));
/** About a second each on an idle machine; the margin is for a loaded 2-core CI runner. */
const TEST_TIMEOUT_MS = 30_000;

interface Outcome {
  granted: number;
  timeouts: number;
  aborts: number;
  violations: string[];
}

/**
 * Thousands of overlapping reads, single writes and sorted multi-shard writes with random hold times, timeouts,
 * aborts and double releases. A model of who holds what checks mutual exclusion at every grant; a run that does not
 * finish in virtual time is a deadlock (or a lost wake-up).
 */
async function stress(seed: number, maxHoldMs: number): Promise<{ lock: ShardLock; outcome: Outcome }> {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const lock = new ShardLock({ clock: fakeClock, maxHoldMs, slowAcquireMs: 20 });
  const readers = new Int32Array(SHARDS);
  const writers = new Uint8Array(SHARDS);
  const outcome: Outcome = { granted: 0, timeouts: 0, aborts: 0, violations: [] };
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  const enter = (task: number, mode: 'read' | 'write', shards: readonly number[]) => {
    for (const s of shards) {
      if (writers[s] || (mode === 'write' && readers[s]! > 0)) {
        outcome.violations.push(`task ${task}: ${mode} on shard ${s} with readers=${readers[s]} writer=${writers[s]}`);
      }
      if (mode === 'write') writers[s] = 1;
      else readers[s]!++;
    }
  };
  const leave = (mode: 'read' | 'write', shards: readonly number[]) => {
    for (const s of shards) {
      if (mode === 'write') writers[s] = 0;
      else readers[s]!--;
    }
  };

  const task = async (i: number): Promise<void> => {
    const opts: AcquireOptions = {};
    if (rnd() < 0.3) opts.timeoutMs = 1 + int(40);
    if (rnd() < 0.1) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), int(30));
      opts.signal = ac.signal;
    }
    const kind = rnd();
    const mode = kind < 0.6 ? 'read' : 'write';
    let shards: number[];
    let acquire: Promise<ShardLockHandle>;
    if (kind < 0.6) {
      shards = [int(SHARDS)];
      acquire = lock.acquireRead(shards[0]!, opts);
    } else if (kind < 0.75) {
      shards = [int(SHARDS)];
      acquire = lock.acquireWrite(shards[0]!, opts);
    } else {
      const wanted = Array.from({ length: 2 + int(4) }, () => int(SHARDS));
      shards = [...new Set(wanted)];
      acquire = lock.acquireWriteMany(wanted, opts);
    }
    let h: ShardLockHandle;
    try {
      h = await acquire;
    } catch (err) {
      if (err instanceof LockTimeoutError) outcome.timeouts++;
      else if (err instanceof AbortedError) outcome.aborts++;
      else throw err;
      return;
    }
    outcome.granted++;
    enter(i, mode, shards);
    // A forced release ends the hold in the model at the moment the lock lets the next holder in.
    let inModel = true;
    h.signal.addEventListener('abort', () => {
      inModel = false;
      leave(mode, shards);
    });
    const hold = int(4);
    if (hold > 0) await sleep(hold);
    else await Promise.resolve();
    if (inModel) leave(mode, shards);
    inModel = false;
    h.release();
    if (rnd() < 0.1) h.release();
  };

  let started = 0;
  let finished = 0;
  const failures: unknown[] = [];
  // Tasks start at a steady rate over the start window; the clock moves 1 ms per step.
  for (let ms = 0; finished + failures.length < TASKS && ms < DEADLOCK_AFTER_MS; ms++) {
    for (; started < TASKS && started < ((ms + 1) * TASKS) / START_WINDOW_MS; started++) {
      task(started).then(
        () => finished++,
        (err: unknown) => failures.push(err),
      );
    }
    await settle();
    vi.advanceTimersByTime(1);
    await settle();
  }
  expect(failures).toEqual([]);
  expect(finished, `seed ${seed}: ${TASKS - finished} tasks never finished`).toBe(TASKS);
  return { lock, outcome };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('shard lock stress', () => {
  it.each([1, 2, 3])('seed %i: no deadlock, no overlap, nothing left behind', async (seed) => {
    const { lock, outcome } = await stress(seed, Infinity);
    expect(outcome.violations).toEqual([]);
    expect(outcome.granted + outcome.timeouts + outcome.aborts).toBe(TASKS);
    // The mix really exercised the slow paths.
    expect(outcome.timeouts).toBeGreaterThan(50);
    expect(outcome.aborts).toBeGreaterThan(10);
    const s = lock.stats();
    expect(s).toMatchObject({ readLocksHeld: 0, writeLocksHeld: 0, waiting: 0, activeShards: 0, forcedReleases: 0 });
    expect(s.timeouts).toBe(outcome.timeouts);
    expect(s.aborts).toBe(outcome.aborts);
    expect(s.slowAcquisitions).toBeGreaterThan(0);
  }, TEST_TIMEOUT_MS);

  it('with forced releases: the next holder only gets in once the overdue one is out', async () => {
    const { lock, outcome } = await stress(4, 3);
    expect(outcome.violations).toEqual([]);
    expect(lock.stats().forcedReleases).toBeGreaterThan(10);
    expect(lock.stats()).toMatchObject({ readLocksHeld: 0, writeLocksHeld: 0, waiting: 0, activeShards: 0 });
  }, TEST_TIMEOUT_MS);
});
