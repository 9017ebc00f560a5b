import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { nullLogger } from '../../../src/core/log/logger.js';
import { LoadReporter } from '../../../src/node/loadReporter.js';
import type { HostStats } from '../../../src/node/objects/objectHost.js';

/** A host whose per-shard call counters and objects the test sets, sampled every 1 s of a manual clock. */
function setup(before: readonly (readonly [number, number])[] = []) {
  let ms = 0;
  const calls = new Map<number, number>(before);
  const objects = new Map<number, number>();
  const clock: Clock = { now: () => 1_700_000_000_000 + ms, monotonic: () => ms };
  const stats = (): HostStats => ({
    objectsByShard: new Map(objects),
    objectsByType: new Map(),
    objectsByTypeAndShard: new Map(),
    nodeObjects: 0,
    callsByShard: new Map(calls),
    nodeCalls: 0,
    activations: 'accepting',
  });
  const reporter = new LoadReporter({ stats, publish: () => Promise.resolve(), intervalMs: 1000, clock, logger: nullLogger });
  /** Adds calls to a shard (the host's counters only grow). */
  const call = (shard: number, n: number): void => {
    calls.set(shard, (calls.get(shard) ?? 0) + n);
  };
  /** Advances a second and returns the reported call rate per shard. */
  const second = (): Map<number, number> => {
    ms += 1000;
    return new Map(reporter.sample().shards.map(([id, , cps]) => [id, cps]));
  };
  return { call, objects, second };
}

describe('LoadReporter call rates', () => {
  it('counts a shard from its first calls here: a shard that just arrived reads busy at once, and fully after one interval', () => {
    const h = setup();
    h.call(1, 10);
    h.objects.set(1, 1);
    expect(h.second().get(1)).toBe(10);
    h.call(1, 10);
    expect(h.second().get(1)).toBe(10);

    // Shard 2 arrives half-way through an interval at 10 calls/s: 5 calls in the first interval, 10 in the next.
    h.call(1, 10);
    h.call(2, 5);
    h.objects.set(2, 1);
    expect(h.second().get(2)).toBe(5);
    h.call(1, 10);
    h.call(2, 10);
    // The full interval replaces the partial figure instead of being averaged with it.
    expect(h.second().get(2)).toBe(10);
    // From then on figures are smoothed: a burst moves the rate only part of the way.
    h.call(1, 10);
    h.call(2, 40);
    const burst = h.second().get(2)!;
    expect(burst).toBeGreaterThan(10);
    expect(burst).toBeLessThan(25);
  });

  it('leaves out calls made before the reporter started', () => {
    const h = setup([[4, 1000]]);
    h.call(4, 3);
    expect(h.second().get(4)).toBe(3);
  });

  it('does not average a shard that comes back with the rate of its earlier stay', () => {
    const h = setup();
    h.call(7, 20);
    h.objects.set(7, 2);
    h.second();
    h.call(7, 20);
    expect(h.second().get(7)).toBe(20);
    // It moves away: objects gone, no calls. The first idle interval only lowers the rate; then it is gone.
    h.objects.delete(7);
    expect(h.second().get(7)).toBeCloseTo(14, 6);
    h.second();
    expect(h.second().has(7)).toBe(false);
    // It comes back mid-interval at 30 calls/s.
    h.objects.set(7, 2);
    h.call(7, 15);
    expect(h.second().get(7)).toBe(15);
    h.call(7, 30);
    expect(h.second().get(7)).toBe(30);
  });
});
