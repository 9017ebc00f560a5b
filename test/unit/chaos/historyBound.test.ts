import { describe, expect, it } from 'vitest';
import { checkHistoryBound, formatHistoryBound, HISTORY_TRANSIENT_EXCESS } from '../../chaos/historyBound.js';
import type { HistoryBoundRecord } from '../../chaos/history.js';

const T = 1_700_000_000_000;
const within: HistoryBoundRecord = {
  maxEntries: 40,
  maxAgeMs: 120_000,
  maxCount: 40 + HISTORY_TRANSIENT_EXCESS,
  maxBytes: 30_000,
  appended: 300,
  final: { at: T, count: 40, bytes: 12_000, oldestAt: T - 120_000 },
  gap: null,
};
const messages = (r: HistoryBoundRecord | undefined) => checkHistoryBound(r).map((v) => `${v.kind}: ${v.message}`);

describe('the chaos checker: the cluster history within its bounds', () => {
  it('accepts a history at its bounds, and a run without a record', () => {
    expect(messages(within)).toEqual([]);
    expect(messages(undefined)).toEqual([]);
    expect(formatHistoryBound(within)).toBe('300 entries appended, at most 72 at once (30000 bytes), 40 entries (12000 bytes) at the end; bound 40 entries, 120 s');
  });

  it('a count beyond the bound while writers trim, or at all at the end, is a violation', () => {
    expect(messages({ ...within, maxCount: 41 + HISTORY_TRANSIENT_EXCESS })).toEqual(['history-bound: cluster history: 73 entries at once (bound 40, 72 while writers trim)']);
    expect(messages({ ...within, final: { ...within.final!, count: 41 } })).toEqual(['history-bound: cluster history: 41 entries at the end (bound 40)']);
  });

  it('an entry older than the age bound and the leader\'s trim interval at the end, or no final read, is a violation', () => {
    // A 2-minute age bound: the leader trims every 30 s.
    expect(messages({ ...within, final: { ...within.final!, oldestAt: T - 150_000 } })).toEqual([]);
    expect(messages({ ...within, final: { ...within.final!, oldestAt: T - 150_001 } })).toEqual([
      'history-bound: cluster history: the oldest entry is 150001 ms old at the end (bound 120000 ms, 150000 ms with the trim interval)',
    ]);
    expect(messages({ ...within, final: null })).toEqual(['history-bound: cluster history: not read at the end of the run']);
  });

  it('more bytes than the bounded entries can hold is a violation', () => {
    expect(messages({ ...within, maxBytes: 72 * 16 * 1024 + 1 })).toHaveLength(1);
  });
});
