import { describe, expect, it } from 'vitest';
import { countExcess, entrySpan, excessSpan, expiredSpan, trimIntervalMs } from '../../../../src/core/history/bounds.js';
import { historyId } from '../../../../src/core/history/entry.js';
import { Keyspace } from '../../../../src/core/keyspace/keys.js';

const keys = new Keyspace('/gv');
const bounds = { maxEntries: 100, maxAgeMs: 3_600_000 };
const NOW = 1_767_268_800_000;
const within = (range: { start: string; end: string }, key: string): boolean => key >= range.start && key < range.end;

describe('history trimming rule', () => {
  it('counts and trims entry keys only: IDs start with a digit, anything else under history/ is left alone', () => {
    const span = entrySpan(keys);
    expect(within(span, keys.history(historyId(NOW, 'a')))).toBe(true);
    expect(within(span, keys.history(historyId(0, 'a')))).toBe(true);
    expect(within(span, keys.history('junk'))).toBe(false);
    expect(within(span, '/gv/historyX/1')).toBe(false);
    expect(within(span, '/gv/shard/1')).toBe(false);
  });

  it('expires what is older than the age bound, to the millisecond', () => {
    const expired = expiredSpan(keys, bounds, NOW);
    expect(within(expired, keys.history(historyId(NOW - 3_600_001, 'zz')))).toBe(true);
    expect(within(expired, keys.history(historyId(NOW - 3_600_000, '0')))).toBe(false);
    expect(within(expired, keys.history(historyId(NOW, '0')))).toBe(false);
  });

  it('deletes the oldest beyond the count bound, the last of them included', () => {
    expect(countExcess(99, bounds)).toBe(0);
    expect(countExcess(100, bounds)).toBe(0);
    expect(countExcess(130, bounds)).toBe(30);
    const last = keys.history(historyId(NOW, 'ab'));
    const span = excessSpan(keys, last);
    expect(within(span, last)).toBe(true);
    expect(within(span, keys.history(historyId(NOW, 'ab0')))).toBe(false);
    expect(within(span, keys.history(historyId(NOW, 'aa')))).toBe(true);
  });

  it('the leader trims every minute, more often under a short age bound', () => {
    expect(trimIntervalMs(bounds)).toBe(60_000);
    expect(trimIntervalMs({ maxEntries: 10, maxAgeMs: 20_000 })).toBe(5000);
    expect(trimIntervalMs({ maxEntries: 10, maxAgeMs: 1000 })).toBe(1000);
  });
});
