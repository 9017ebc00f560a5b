import { describe, expect, it } from 'vitest';
import {
  countAfter,
  decodeShardCount,
  encodeShardCount,
  isShardCount,
  pairGoal,
  type ShardCountRecord,
  type ShardCountTransition,
} from '../../../../src/core/keyspace/shardCount.js';

const split: ShardCountTransition = { kind: 'split', from: 64, to: 128, state: 'running', startedAt: 5, by: 'me@host', id: 'abc' };

describe('the shard-count record', () => {
  it('accepts powers of two from 1 to 2^20 only', () => {
    for (const n of [1, 2, 64, 8192, 1_048_576]) expect(isShardCount(n)).toBe(true);
    for (const n of [0, -2, 3, 100, 8191, 2_097_152, 1.5, Number.NaN]) expect(isShardCount(n)).toBe(false);
  });

  it('round-trips and reads what it writes', () => {
    const record: ShardCountRecord = { count: 64, transition: split, reshards: 2 };
    expect(decodeShardCount(encodeShardCount(record))).toEqual({ ok: true, record });
    expect(decodeShardCount(encodeShardCount({ count: 8, transition: null, reshards: 0 }))).toEqual({ ok: true, record: { count: 8, transition: null, reshards: 0 } });
  });

  it('tolerates unknown fields and missing informational ones', () => {
    const raw = JSON.stringify({ count: 64, future: { x: 1 }, transition: { kind: 'merge', from: 64, to: 32, state: 'aborting', extra: 1 } });
    const d = decodeShardCount(raw);
    expect(d).toEqual({
      ok: true,
      record: { count: 64, reshards: 0, transition: { kind: 'merge', from: 64, to: 32, state: 'aborting', startedAt: 0, by: '', id: '' } },
    });
    expect(decodeShardCount('{"count":4}')).toMatchObject({ ok: true, record: { transition: null } });
  });

  it('refuses what routing cannot trust', () => {
    const bad = (v: unknown): string => {
      const d = decodeShardCount(typeof v === 'string' ? v : JSON.stringify(v));
      if (d.ok) throw new Error(`accepted ${JSON.stringify(v)}`);
      return d.reason;
    };
    expect(bad('{nope')).toMatch(/not JSON/);
    expect(bad([1])).toMatch(/not a JSON object/);
    expect(bad({ count: 100 })).toMatch(/power of two/);
    expect(bad({ count: 2_097_152 })).toMatch(/power of two/);
    expect(bad({ count: 64, transition: 'split' })).toMatch(/object or null/);
    expect(bad({ count: 64, transition: { ...split, kind: 'double' } })).toMatch(/"split" or "merge"/);
    expect(bad({ count: 64, transition: { ...split, from: 32 } })).toMatch(/"transition.from" must equal "count"/);
    expect(bad({ count: 64, transition: { ...split, to: 256 } })).toMatch(/twice/);
    expect(bad({ count: 1, transition: { ...split, kind: 'merge', from: 1, to: 0 } })).toMatch(/half/);
    expect(bad({ count: 1_048_576, transition: { ...split, from: 1_048_576, to: 2_097_152 } })).toMatch(/within bounds/);
    expect(bad({ count: 64, transition: { ...split, state: 'paused' } })).toMatch(/"running" or "aborting"/);
  });

  it('an abort reverses the pairs and ends at the original count', () => {
    expect(pairGoal(split)).toBe('split');
    expect(countAfter(split)).toBe(128);
    const aborting = { ...split, state: 'aborting' as const };
    expect(pairGoal(aborting)).toBe('merge');
    expect(countAfter(aborting)).toBe(64);
    expect(pairGoal({ ...split, kind: 'merge', to: 32, state: 'aborting' })).toBe('split');
  });
});
