import { describe, expect, it } from 'vitest';
import { InvalidObjectIdError } from '../../../../src/core/errors.js';
import { fnv1a32 } from '../../../../src/core/sharding/hash.js';
import { type CountLayout, pairHalf, pairLowCount, placeInLayout, servingShard, slotCount } from '../../../../src/core/sharding/layout.js';

const steady: CountLayout = { count: 8, transition: null };
const split: CountLayout = { count: 8, transition: { from: 8, to: 16 } };
const merge: CountLayout = { count: 16, transition: { from: 16, to: 8 } };

/** An ID whose FNV-1a hash lands on `shard` of `mod`. */
function idOn(shard: number, mod: number): string {
  for (let i = 0; ; i++) if (fnv1a32(`obj-${i}`) % mod === shard) return `obj-${i}`;
}

describe('the effective-shard rule', () => {
  it('has the larger count of a transition as its range', () => {
    expect(slotCount(steady)).toBe(8);
    expect(slotCount(split)).toBe(16);
    expect(slotCount(merge)).toBe(16);
    expect(pairLowCount(steady)).toBeNull();
    expect(pairLowCount(split)).toBe(8);
    expect(pairLowCount(merge)).toBe(8);
  });

  it('serves a high-half object by its low shard until the high key exists, for both directions', () => {
    for (const layout of [split, merge]) {
      expect(servingShard(layout, 11, () => false)).toBe(3);
      expect(servingShard(layout, 11, (id) => id === 11)).toBe(11);
      expect(servingShard(layout, 3, () => true)).toBe(3);
    }
    expect(servingShard(steady, 5, () => false)).toBe(5);
  });

  it('places regular and fixed-shard IDs by the rule', () => {
    const high = idOn(13, 16);
    expect(placeInLayout(high, steady, () => false)).toEqual({ kind: 'shard', shardId: 5 });
    expect(placeInLayout(high, split, () => false)).toEqual({ kind: 'shard', shardId: 5 });
    expect(placeInLayout(high, split, (id) => id === 13)).toEqual({ kind: 'shard', shardId: 13 });
    expect(placeInLayout('shard#13/x', split, () => false)).toEqual({ kind: 'shard', shardId: 5 });
    expect(placeInLayout('shard#13/x', split, () => true)).toEqual({ kind: 'shard', shardId: 13 });
    expect(placeInLayout('n1:1/x', split, () => true)).toEqual({ kind: 'node', node: 'n1:1' });
  });

  it('fixed-shard IDs are valid below the count in force, and below the larger count during a transition', () => {
    expect(() => placeInLayout('shard#13/x', steady, () => false)).toThrow(InvalidObjectIdError);
    expect(() => placeInLayout('shard#16/x', split, () => false)).toThrow(/out of range \[0, 16\)/);
    expect(() => placeInLayout('shard#8/x', { count: 8, transition: null }, () => false)).toThrow(InvalidObjectIdError);
  });

  it('pairHalf agrees with the rule once the pair is split', () => {
    for (let i = 0; i < 500; i++) {
      const id = i % 5 === 0 ? `shard#${i % 16}/k${i}` : `id-${i}`;
      const served = placeInLayout(id, split, () => true);
      expect(pairHalf(id, 8)).toBe(served.kind === 'shard' && served.shardId >= 8 ? 'high' : 'low');
    }
  });
});
