import { describe, expect, it } from 'vitest';
import { HotSpotWindow } from '../../../src/cluster/lockHotSpots.js';

describe('HotSpotWindow', () => {
  it('ranks shards by total wait and keeps one to two windows of history', () => {
    const w = new HotSpotWindow(1000, 0);
    w.recordWait(1, 10, 0);
    w.recordWait(2, 30, 500);
    w.recordWait(1, 5, 900);
    w.recordTimeout(3, 950);
    expect(w.top(2, 950)).toEqual([
      { shardId: 2, waits: 1, totalWaitMs: 30, maxWaitMs: 30, timeouts: 0 },
      { shardId: 1, waits: 2, totalWaitMs: 15, maxWaitMs: 10, timeouts: 0 },
    ]);
    // Next window: the previous one still counts, merged with the new figures.
    w.recordWait(1, 40, 1500);
    expect(w.top(1, 1500)).toEqual([{ shardId: 1, waits: 3, totalWaitMs: 55, maxWaitMs: 40, timeouts: 0 }]);
    // Two windows later the first one has gone.
    expect(w.top(5, 2600).map((h) => h.shardId)).toEqual([1]);
    expect(w.top(5, 2600)[0]!.totalWaitMs).toBe(40);
    expect(w.top(5, 5000)).toEqual([]);
  });
});
