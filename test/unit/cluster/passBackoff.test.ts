import { describe, expect, it } from 'vitest';
import { PassBackoff } from '../../../src/cluster/passBackoff.js';

describe('leader pass backoff', () => {
  it('spaces passes that write nothing, doubling up to the cap, and resets on a write', () => {
    const b = new PassBackoff(50, 400);
    expect(b.waitMs(0)).toBe(0);
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      b.passed(false, now);
      waits.push(b.waitMs(now));
      now += b.waitMs(now);
    }
    expect(waits).toEqual([50, 100, 200, 400, 400, 400]);
    b.passed(true, now);
    expect(b.waitMs(now)).toBe(0);
  });

  it('never waits past the moment a decision asked to be looked at again, and resets on demand', () => {
    const b = new PassBackoff(50, 1000);
    for (let i = 0; i < 6; i++) b.passed(false, 0);
    expect(b.waitMs(0)).toBe(1000);
    b.passed(false, 0, 120);
    expect(b.waitMs(0)).toBe(120);
    b.reset();
    expect(b.waitMs(0)).toBe(0);
  });
});
