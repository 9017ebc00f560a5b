import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../../src/core/clock.js';
import { AbortedError, TimeoutError } from '../../../../src/core/errors.js';
import { FifoMutex } from '../../../../src/node/objects/fifoMutex.js';

describe('FifoMutex', () => {
  it('grants in arrival order and a double release cannot free the next holder', async () => {
    const m = new FifoMutex();
    const first = m.tryLock()!;
    const order: number[] = [];
    const second = m.lock({}, systemClock, 'x').then((release) => (order.push(2), release));
    const third = m.lock({}, systemClock, 'x').then((release) => (order.push(3), release));
    first();
    const releaseSecond = await second;
    first(); // stale release: must not hand the lock on
    expect(m.tryLock()).toBeNull();
    expect(order).toEqual([2]);
    releaseSecond();
    (await third)();
    expect(order).toEqual([2, 3]);
    expect(m.tryLock()).not.toBeNull();
  });

  it('rejects waits that are already over, even when the lock is free', async () => {
    const m = new FifoMutex();
    await expect(m.lock({ deadline: systemClock.monotonic() - 1 }, systemClock, 'x')).rejects.toBeInstanceOf(TimeoutError);
    await expect(m.lock({ signal: AbortSignal.abort() }, systemClock, 'x')).rejects.toBeInstanceOf(AbortedError);
    expect(m.tryLock()).not.toBeNull();
  });
});
