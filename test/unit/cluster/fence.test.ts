import { describe, expect, it } from 'vitest';
import { Fence } from '../../../src/cluster/fence.js';
import type { Clock } from '../../../src/core/clock.js';

/** A clock moved by hand. */
function manualClock(): Clock & { at: number } {
  const clock = { at: 1000, now: () => clock.at, monotonic: () => clock.at };
  return clock;
}

describe('Fence', () => {
  it('stops serving once the contact is older than the window, dated at the window end', () => {
    const clock = manualClock();
    const fence = new Fence(clock, 500, 'enforced');
    fence.registered('7', 10, clock.at);
    clock.at += 499;
    expect(fence.isServing()).toBe(true);
    clock.at += 1;
    expect(fence.isServing()).toBe(false);
    expect(fence.current).toMatchObject({ kind: 'fenced', since: 1500 });
  });

  it('keeps serving past the window when fencing is disabled for tests, until tripped', () => {
    const clock = manualClock();
    const fence = new Fence(clock, 500, 'disabled-for-tests');
    fence.registered('7', 10, clock.at);
    clock.at += 60_000;
    expect(fence.isServing()).toBe(true);
    fence.trip('lease expired or revoked in etcd');
    expect(fence.isServing()).toBe(false);
  });
});
